package io.gradwatch.trainer.nn;

import io.gradwatch.trainer.tasks.Batch;
import io.gradwatch.trainer.tasks.Targets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Stacked recurrent layers (as torch.nn.RNN/LSTM/GRU with num_layers) and a linear head. */
public final class SequenceModel implements Network {
    private final ModelConfig config;
    private final List<RecurrentLayer> layers = new ArrayList<>();
    private final Head head;
    private final List<Parameter> parameters = new ArrayList<>();
    private double[] dTop = new double[0];
    private final double[][] dInputs;

    SequenceModel(ModelConfig config) {
        this.config = config;
        for (int l = 0; l < config.layers(); l++) {
            int in = l == 0 ? config.inputSize() : config.hidden();
            layers.add(switch (config.cell()) {
                case RNN -> new RnnLayer(l, in, config.hidden(), config.activation());
                case LSTM -> new LstmLayer(l, in, config.hidden());
                case GRU -> new GruLayer(l, in, config.hidden());
                case MLP -> throw new IllegalArgumentException("an MLP is not a sequence model");
            });
        }
        // PyTorch's state_dict order: all weight_ih, weight_hh, bias_ih, bias_hh per layer, then the head.
        layers.forEach(layer -> parameters.addAll(layer.parameters()));
        head = new Head(config.hidden(), config.outputs());
        parameters.addAll(head.parameters());
        dInputs = new double[config.layers()][];
        Arrays.fill(dInputs, new double[0]);
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    public List<RecurrentLayer> layers() {
        return layers;
    }

    @Override
    public List<Parameter> parameters() {
        return parameters;
    }

    @Override
    public StepResult forwardBackward(Batch batch, Tbptt tbptt) {
        parameters.forEach(Parameter::zeroGrad);
        return run(batch, tbptt, true);
    }

    @Override
    public double loss(Batch batch, Tbptt tbptt) {
        return run(batch, tbptt, false).loss();
    }

    @Override
    public List<LayerTrace> traces() {
        Activation activation = config.cell() == CellKind.RNN ? config.activation() : Activation.TANH;
        return layers.stream().map(layer -> layer.trace(activation)).toList();
    }

    private StepResult run(Batch batch, Tbptt tbptt, boolean backward) {
        int seqLen = batch.seqLen();
        int rows = batch.batchSize();
        int hidden = config.hidden();
        if (batch.inputSize() != config.inputSize()) {
            throw new IllegalArgumentException("batch has " + batch.inputSize() + " features, model expects "
                    + config.inputSize());
        }
        double[] input = batch.inputs();
        for (RecurrentLayer layer : layers) {
            layer.forward(input, seqLen, rows);
            input = layer.output();
        }
        double[] top = input;
        ensureBuffers(seqLen, rows);
        if (backward) {
            layers.forEach(RecurrentLayer::beginBackward);
        }
        Targets targets = batch.targets();
        double scale = 1.0 / (targets.perTimestep() ? (double) rows * seqLen : rows);
        double loss = 0;
        double correct = 0;
        int lossRows = 0;
        int previous = -1;
        for (int update = Math.min(tbptt.k1(), seqLen) - 1; ; update = Math.min(update + tbptt.k1(), seqLen - 1)) {
            int lo = Math.max(0, update - tbptt.k2() + 1);
            boolean any = false;
            if (backward) {
                Arrays.fill(dTop, lo * rows * hidden, (update + 1) * rows * hidden, 0.0);
            }
            for (int t = previous + 1; t <= update; t++) {
                if (!targets.perTimestep() && t != seqLen - 1) {
                    continue;
                }
                int targetOff = targets.perTimestep() ? t * rows : 0;
                Head.Result result = head.forwardBackward(top, t * rows * hidden, rows, targets, targetOff, scale,
                        dTop, t * rows * hidden, backward);
                loss += result.loss();
                correct += result.accuracy() * rows;
                lossRows += rows;
                any = true;
            }
            if (backward && any) {
                double[] dAbove = dTop;
                for (int l = layers.size() - 1; l >= 0; l--) {
                    double[] dInput = l > 0 ? dInputs[l] : null;
                    layers.get(l).backwardWindow(dAbove, lo, update, dInput);
                    dAbove = dInput;
                }
            }
            previous = update;
            if (update == seqLen - 1) {
                break;
            }
        }
        return new StepResult(loss, correct / lossRows);
    }

    private void ensureBuffers(int seqLen, int rows) {
        int size = seqLen * rows * config.hidden();
        if (dTop.length != size) {
            dTop = new double[size];
            for (int l = 1; l < layers.size(); l++) {
                dInputs[l] = new double[seqLen * rows * layers.get(l).inputSize()];
            }
        }
    }
}
