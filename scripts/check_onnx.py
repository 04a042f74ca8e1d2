#!/usr/bin/env python3
"""Holds effnas's ONNX export to ONNX Runtime: for each `<name>.onnx` in DIR, with
`<name>.json` beside it (inputs at several image sizes and effnas's eval-mode logits
for them, written by models/tests/onnx.rs), checks the model with onnx's checker and
compares ONNX Runtime's outputs with effnas's. Fails above 1e-4.

    python3 scripts/check_onnx.py DIR      # needs: pip install onnxruntime onnx numpy
"""
import json, pathlib, sys

import numpy as np
import onnx
import onnxruntime as ort

directory = pathlib.Path(sys.argv[1])
worst, checked = 0.0, 0
for model_path in sorted(directory.glob("*.onnx")):
    model = onnx.load(str(model_path))
    onnx.checker.check_model(model, full_check=True)
    opset = model.opset_import[0].version
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    cases = json.loads(model_path.with_suffix(".json").read_text())
    for case in cases:
        x = np.array(case["input"], dtype=np.float32).reshape(case["input_shape"])
        ours = np.array(case["logits"], dtype=np.float32).reshape(case["logits_shape"])
        (theirs,) = session.run(["logits"], {"images": x})
        difference = float(np.abs(theirs - ours).max())
        worst = max(worst, difference)
        checked += 1
        print(f"{model_path.stem}: opset {opset}, input {list(x.shape)}: "
              f"max |ONNX Runtime - effnas| = {difference:.2e} (logits up to {float(np.abs(ours).max()):.2f})")
        if difference > 1e-4:
            sys.exit(f"{model_path.stem}: outputs differ by {difference}")
if checked == 0:
    sys.exit(f"no models in {directory}")
print(f"{checked} checks, worst difference {worst:.2e}; onnxruntime {ort.__version__}, onnx {onnx.__version__}")
