#!/usr/bin/env python3
"""Times one EfficientNetV2 block forward and backward with PyTorch + timm, the way
`search bench-op --op mbconv|fused_mbconv` times ours: the median of
`block(x).sum().backward()` after warm-up steps, in train mode, on random data.

The block is timm's own: `InvertedResidual` (MBConv: 1x1 expansion, depthwise,
squeeze-excitation on a quarter of the input channels, 1x1 projection) or
`EdgeResidual` (Fused-MBConv: kxk expansion, 1x1 projection), with SiLU and
BatchNorm(eps 1e-3), the shortcut where the shapes allow, no stochastic depth.
Prints one JSON object on the last line. For scripts/bench_vs_timm.sh; run it with
the reference environment:

    $(../shared/peer/setup.sh) scripts/timm_block_step.py --block mbconv \
        --batch 16 --channels 128 --size 8 --expand 4
"""
import argparse, json, os, resource, statistics, time
from functools import partial

p = argparse.ArgumentParser()
p.add_argument("--block", choices=["mbconv", "fused_mbconv"], required=True)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--channels", type=int, default=96)
p.add_argument("--out-channels", type=int, default=None)
p.add_argument("--size", type=int, default=128)
p.add_argument("--kernel", type=int, default=3)
p.add_argument("--stride", type=int, default=1)
p.add_argument("--expand", type=int, default=4)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--threads", type=int, default=os.cpu_count())
a = p.parse_args()

import torch
import torch.nn as nn
from timm.models._efficientnet_blocks import EdgeResidual, InvertedResidual, SqueezeExcite

torch.set_num_threads(a.threads)
torch.manual_seed(0)
c, co = a.channels, (a.out_channels or a.channels)
common = dict(stride=a.stride, exp_ratio=float(a.expand), act_layer=nn.SiLU,
              norm_layer=partial(nn.BatchNorm2d, eps=1e-3, momentum=0.1))
if a.block == "mbconv":
    se = partial(SqueezeExcite, rd_channels=max(1, c // 4))
    block = InvertedResidual(c, co, dw_kernel_size=a.kernel, se_layer=se, **common)
else:
    block = EdgeResidual(c, co, exp_kernel_size=a.kernel, **common)
block.train()
x = torch.randn(a.batch, c, a.size, a.size, requires_grad=True)


def step():
    block.zero_grad(set_to_none=True)
    x.grad = None
    block(x).sum().backward()


for _ in range(a.warmup):
    step()
ts = []
for _ in range(a.steps):
    t = time.perf_counter()
    step()
    ts.append((time.perf_counter() - t) * 1e3)
print(json.dumps({
    "block": a.block, "batch": a.batch, "channels": c, "out_channels": co, "size": a.size,
    "kernel": a.kernel, "stride": a.stride, "expand": a.expand, "threads": a.threads,
    "torch": torch.__version__, "params": sum(q.numel() for q in block.parameters()),
    "step_ms_median": round(statistics.median(ts), 3), "step_ms_min": round(min(ts), 3),
    "step_ms_max": round(max(ts), 3),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
}))
