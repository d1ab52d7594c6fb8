#!/usr/bin/env bash
# `make package-test`: the packaged binary's --selftest, then a headless job on the quick-demo recipe, capped at
# a few steps per stage, through every stage to the int8 export. The app runs with a bare environment (no
# venv, no PYTHONPATH, hub offline) and a fresh HOME, the way a user without Python would start it.
set -euo pipefail

APP="$(realpath "${1:-dist/tinybert-workbench/tinybert-workbench}")"
PYTHON="$(realpath "${PYTHON:-.venv/bin/python}")"   # only to write the capped recipe, never to run the app
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
STEPS=3

app() {
    (cd "$WORK" && env -i PATH=/usr/bin:/bin HOME="$WORK" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 \
        timeout 600 "$APP" "$@")
}

echo "== self-test of $APP"
app --selftest

echo "== quick-demo recipe, $STEPS steps per stage, headless"
# The preset the package carries, with smaller splits and a step cap on each stage.
"$PYTHON" - "$(dirname "$APP")/_internal/resources/presets/quick-demo.yaml" "$WORK/quick-demo-steps.yaml" "$STEPS" <<'PY'
import sys

import yaml

preset, out, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
recipe = yaml.safe_load(open(preset, encoding="utf-8"))
recipe["data"].update(train_size=96, dev_size=64, test_size=64)
for stage in ("teacher_finetune", "intermediate", "prediction"):
    recipe["distillation"][stage]["max_steps"] = steps
recipe["training"].update(log_every=1, checkpoint_every=steps)
recipe["output_dir"] = "runs"
yaml.safe_dump(recipe, open(out, "w", encoding="utf-8"), sort_keys=False)
PY
app run quick-demo-steps.yaml | tail -n 20

RUN="$(ls -d "$WORK"/runs/quick-demo-* | head -n 1)"
"$PYTHON" - "$RUN" "$STEPS" <<'PY'
import json
import sys
from pathlib import Path

run, steps = Path(sys.argv[1]), int(sys.argv[2])
status = json.loads((run / "status.json").read_text())
assert status["status"] == "finished", f"run status {status}"
events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
stepped = {e["stage"] for e in events if e["event"] == "Step"}
assert {"intermediate", "prediction"} <= stepped, f"stages that logged steps: {sorted(stepped)}"
assert max(e["step"] for e in events if e["event"] == "Step") <= steps, "a stage ran past its step cap"
for name in ("student-fp32.onnx", "student-int8.onnx"):
    assert (run / "onnx" / name).is_file(), f"{name} missing"
assert any((run / "tensorboard").iterdir()), "no TensorBoard event file"
print(f"ok  headless quick-demo run: stages {sorted(stepped)}, onnx {sorted(p.name for p in (run / 'onnx').iterdir())}")
PY

echo "== the web demo of that run, from the JavaScript the package carries"
app deploy "$RUN" --format web --out web-demo | tail -n 2
for file in demo.html web/index.html web/model.onnx web/ort-wasm-simd-threaded.wasm web/tokenizers.min.mjs; do
    test -s "$WORK/web-demo/$file" || { echo "web demo: $file missing"; exit 1; }
done
echo "ok  web demo: $(du -h "$WORK/web-demo/demo.html" | cut -f1) demo.html and web/"
echo "package-test passed"
