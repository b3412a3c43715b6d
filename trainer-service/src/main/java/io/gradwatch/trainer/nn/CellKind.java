package io.gradwatch.trainer.nn;

/** The kinds of network the trainer builds. */
public enum CellKind { RNN, LSTM, GRU, MLP }
