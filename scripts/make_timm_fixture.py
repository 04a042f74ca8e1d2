#!/usr/bin/env python3
"""Makes tests/fixtures/timm-tiny/: a tiny network with every timm block type
effnas exports (`cn` with SE before its conv, `er`, `ds`, `ir`), built by timm from
`search export --format timm` of spec.json, with random weights and BatchNorm
statistics; its state dict as timm saves it (weights.safetensors), and inputs at
two image sizes (one odd, so strided padding is tested) with timm's eval-mode
logits (io.safetensors). The Rust tests load the weights through effnas's timm
reader and compare logits, and compare effnas's timm writer with timm's own keys,
shapes and types, without PyTorch in CI. Run with the reference environment:

    $(../shared/peer/setup.sh) scripts/make_timm_fixture.py
"""
import pathlib, subprocess

import torch
from safetensors.torch import save_file

root = pathlib.Path(__file__).resolve().parent.parent
out = root / "tests" / "fixtures" / "timm-tiny"
binary = root / "target" / "release" / "search"
if not binary.exists():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "search"], cwd=root, check=True)
text = subprocess.run([str(binary), "export", "--arch", str(out / "spec.json"), "--format", "timm"],
                      check=True, capture_output=True, text=True).stdout
namespace = {"__name__": "effnas_export"}
exec(compile(text, "<export>", "exec"), namespace)

torch.manual_seed(0)
model = namespace["build"]()
with torch.no_grad():
    # Affine BatchNorm parameters away from 1 and 0, a wider classifier, and
    # running statistics gathered from random batches, so the logits depend on
    # the input in every decimal the test compares.
    for name, tensor in model.state_dict().items():
        if name.endswith(("bn1.weight", "bn2.weight", "bn3.weight")):
            tensor.uniform_(0.5, 1.5)
        elif name.endswith(("bn1.bias", "bn2.bias", "bn3.bias")):
            tensor.normal_(0.0, 0.2)
        elif name.startswith("classifier."):
            tensor.normal_(0.0, 1.0)
    model.train()
    for _ in range(30):
        model(torch.randn(16, 3, 32, 32))
model.eval()
io = {}
for size in (32, 33):
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        io[f"input_{size}"] = x
        io[f"logits_{size}"] = model(x)
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "weights.safetensors"))
save_file(io, str(out / "io.safetensors"))
print(f"{len(model.state_dict())} tensors, {sum(p.numel() for p in model.parameters())} parameters; wrote {out}")
