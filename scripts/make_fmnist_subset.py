#!/usr/bin/env python3
"""Regenerates the Fashion-MNIST subset embedded in the `search` crate.

From Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist): the first
400 images of each class of the training set, and the first 100 of each class of
the test set as the validation split, in their original order, written as gzipped
IDX files (the format they come in). Deterministic: the same input gives the same
bytes (gzip without a timestamp).
    python3 scripts/make_fmnist_subset.py [SOURCE_DIR]
"""
import gzip, struct, sys
from pathlib import Path

src = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist")
out = Path(__file__).resolve().parent.parent / "train" / "data" / "fashion-mnist-subset"

def read(name):
    data = gzip.open(src / name).read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        size = rows * cols
        return [data[16 + i * size : 16 + (i + 1) * size] for i in range(n)], (rows, cols)
    return list(data[8 : 8 + n]), None

def pick(images, labels, per_class):
    chosen, counts = [], [0] * 10
    for i, label in enumerate(labels):
        if counts[label] < per_class:
            counts[label] += 1
            chosen.append(i)
    return [images[i] for i in chosen], [labels[i] for i in chosen]

def write(name, payload):
    with open(out / name, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(payload)

out.mkdir(parents=True, exist_ok=True)
for split, prefix, per_class in [("train", "train", 400), ("val", "t10k", 100)]:
    images, (rows, cols) = read(f"{prefix}-images-idx3-ubyte.gz")
    labels, _ = read(f"{prefix}-labels-idx1-ubyte.gz")
    images, labels = pick(images, labels, per_class)
    write(f"{split}-images-idx3-ubyte.gz", struct.pack(">IIII", 2051, len(images), rows, cols) + b"".join(images))
    write(f"{split}-labels-idx1-ubyte.gz", struct.pack(">II", 2049, len(labels)) + bytes(labels))
    print(f"{split}: {len(images)} images")
