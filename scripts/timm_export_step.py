#!/usr/bin/env python3
"""Times one training step of a network exported by `search export --format timm`,
built by timm, the way ../shared/peer/timm_step.py times a timm model: forward,
cross-entropy, backward, RMSprop update, in train mode on random data; the median
of the timed steps after warm-up steps. Prints one JSON object on the last line
(step_ms_median, peak_rss_mb, params). For the proxy-scale row of
scripts/bench_vs_timm.sh; run it with the reference environment:

    search export --arch spec.json --format timm --out found.py
    $(../shared/peer/setup.sh) scripts/timm_export_step.py found.py --batch 64 --size 32
"""
import argparse, json, os, resource, statistics, time

p = argparse.ArgumentParser()
p.add_argument("export", help="a Python file written by `search export --format timm`")
p.add_argument("--batch", type=int, default=64)
p.add_argument("--size", type=int, default=32)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--threads", type=int, default=os.cpu_count())
a = p.parse_args()

import torch
import torch.nn.functional as F

torch.set_num_threads(a.threads)
torch.manual_seed(0)
namespace = {"__name__": "effnas_export"}
with open(a.export) as f:
    exec(compile(f.read(), a.export, "exec"), namespace)
m = namespace["build"]()
m.train()
opt = torch.optim.RMSprop(m.parameters(), lr=0.01, alpha=0.9, momentum=0.9, eps=1e-3)
x = torch.randn(a.batch, m.conv_stem.in_channels, a.size, a.size)
y = torch.randint(0, m.num_classes, (a.batch,))


def step():
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(m(x), y).backward()
    opt.step()


for _ in range(a.warmup):
    step()
ts = []
for _ in range(a.steps):
    t = time.perf_counter()
    step()
    ts.append((time.perf_counter() - t) * 1e3)
print(json.dumps({
    "batch": a.batch, "size": a.size, "threads": a.threads, "torch": torch.__version__,
    "params": sum(q.numel() for q in m.parameters()),
    "step_ms_median": round(statistics.median(ts), 3), "step_ms_min": round(min(ts), 3),
    "step_ms_max": round(max(ts), 3),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
}))
