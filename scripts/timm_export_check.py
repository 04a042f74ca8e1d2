#!/usr/bin/env python3
"""Builds effnas networks with timm from `search export --format timm` and records
what timm makes of them, as the fixture `tests/fixtures/timm-export.json` that the
Rust tests hold the export to (CI has no PyTorch).

For every preset and every finished network of the searches kept in
docs/results/, it builds the export, runs a forward pass, writes the spec, the
exported ARCH_DEF and timm's parameter count, and fails if any count differs
from effnas's. Run it with the PyTorch +
timm reference environment (../shared/peer/setup.sh):

    $(../shared/peer/setup.sh) scripts/timm_export_check.py
"""
import json, pathlib, shutil, subprocess, sys, tempfile

import timm
import torch

root = pathlib.Path(__file__).resolve().parent.parent
binary = root / "target" / "release" / "search"
if not binary.exists():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "search"], cwd=root, check=True)

def run(*args):
    return subprocess.run([str(binary), *args], check=True, capture_output=True, text=True).stdout

def build(python_text):
    namespace = {"__name__": "effnas_export"}
    exec(compile(python_text, "<export>", "exec"), namespace)
    model = namespace["build"]().eval()
    # A forward pass: the SE put before a `cn` block's conv must fit its input.
    with torch.no_grad():
        logits = model(torch.zeros(1, model.conv_stem.in_channels, 64, 64))
    assert logits.shape[1] == model.num_classes, logits.shape
    return namespace, sum(p.numel() for p in model.parameters())

sources = []
presets = [line.split()[0] for line in run("arch", "list").splitlines()[2:] if line.startswith("efficientnet")]
for name in presets:
    sources.append((name, json.loads(run("export", "--arch", name)), run("export", "--arch", name, "--format", "timm")))
seen = set()
for trials in sorted((root / "docs" / "results").rglob("*trials.jsonl")):
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(trials, pathlib.Path(tmp) / "trials.jsonl")
        for line in trials.read_text().splitlines():
            t = json.loads(line)
            if t["status"] != "done" or t["spec"]["name"] in seen:
                continue
            seen.add(t["spec"]["name"])
            try:
                text = run("export", tmp, str(t["id"]), "--format", "timm")
            except subprocess.CalledProcessError as e:
                print(f"{t['spec']['name']}: not exported: {e.stderr.strip()}", file=sys.stderr)
                continue
            sources.append((t["spec"]["name"], t["spec"], text))

fixture, failures = [], 0
for name, spec, text in sources:
    namespace, params = build(text)
    ok = params == namespace["PARAMS"]
    failures += not ok
    print(f"{'ok ' if ok else 'BAD'} {name}: timm {params:,}, effnas {namespace['PARAMS']:,}")
    fixture.append({"spec": spec, "arch_def": [s[0] for s in namespace["ARCH_DEF"]], "timm_params": params})
out = root / "tests" / "fixtures" / "timm-export.json"
out.write_text(json.dumps({"timm": timm.__version__, "networks": fixture}, indent=1) + "\n")
print(f"{len(fixture)} networks, {failures} mismatched; wrote {out}")
sys.exit(1 if failures else 0)
