#!/usr/bin/python3
"""Loads a gradwatch checkpoint's model.safetensors into PyTorch modules, as a PyTorch user would.

    ./gradwatch train --preset lstm --steps 50 --no-kafka --checkpoint-dir /tmp/ckpt
    /usr/bin/python3 trainer-service/src/test/python/check_checkpoint.py /tmp/ckpt lstm 64 10 2

Debian's python3-torch 1.13 has no safetensors package, so the file is read by hand (8-byte
little-endian header length, JSON header, little-endian data) - which also checks the format.
"""
import json
import struct
import sys

import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = {"F32": torch.float32, "F64": torch.float64}[info["dtype"]]
        tensors[name] = torch.frombuffer(bytearray(data[base + begin:base + end]), dtype=dtype).reshape(info["shape"])
    return tensors, header.get("__metadata__", {})


def main(directory, cell, hidden, vocab, classes, layers=1):
    state, metadata = load_safetensors(f"{directory}/model.safetensors")
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](vocab, hidden, num_layers=layers)
    head = torch.nn.Linear(hidden, classes)
    module.load_state_dict({k: v for k, v in state.items() if not k.startswith("head.")})
    head.load_state_dict({k[len("head."):]: v for k, v in state.items() if k.startswith("head.")})
    print(f"loaded {len(state)} tensors into {module} + {head}; metadata {metadata}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
