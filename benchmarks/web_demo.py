"""The web demo measured: the size of demo.html and what dominates it, the time from opening it (from disk,
network off, headless Debian Chromium) to its first label, and the median batch-1 latency in the browser
(WebAssembly, the threads the page uses: one from disk) against ONNX Runtime in Python on the same model and
the same texts (predict.py's code: tokenizer and model, one text at a time, 1 thread and ONNX Runtime's
default). Run it on a quiet machine; a busy one says nothing about speed.

    .venv/bin/python benchmarks/web_demo.py RUN_DIR [--rounds 5]

RUN_DIR is a finished run with an int8 student; its web demo is written to RUN_DIR/web-demo first when absent.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/web_browser.py: the same Chromium driver as the web demo's tests

from tests.web_browser import Browser  # noqa: E402
from workbench.core.run_folder import RunFolder, link_or_copy  # noqa: E402


def payload(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="payload">(.*?)</script>', text, re.S).group(1))


def browser_figures(demo: Path, first_text: str, rounds: int) -> dict:
    """Open to first label (a fresh browser each round, so nothing is cached) and the page's own median over
    its 100 sample texts (one browser, `rounds` passes)."""
    first = []
    for _ in range(rounds):
        with Browser() as browser:
            page = browser.open(f"{demo.as_uri()}#text={quote(first_text)}", offline=True)
            page.evaluate("window.demo.ready")
            first.append(page.evaluate("window.demo.firstLabelMs"))
    with Browser() as browser:
        page = browser.open(demo.as_uri(), offline=True)
        page.evaluate("window.demo.ready")
        medians = [page.evaluate("window.demo.runSamples()")["medianMs"] for _ in range(rounds)]
    return {"open_to_first_label_ms": statistics.median(first), "browser_batch1_median_ms": statistics.median(medians)}


def python_figures(web: Path, labels: list[str], texts: list[str], rounds: int) -> dict:
    """predict.py's Classifier on the same model and tokenizer.json, one text at a time, as the page runs."""
    from workbench.core.deploy.predict import Classifier

    folder = Path(tempfile.mkdtemp(prefix="web-demo-python-"))
    for name in ("model.onnx", "tokenizer.json"):
        link_or_copy(web / name, folder / name)
    (folder / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    figures = {}
    for threads in (1, 0):
        classifier = Classifier(folder, "model.onnx", threads)
        classifier.logits(texts[:1])
        medians = []
        for _ in range(rounds):
            times = []
            for text in texts:
                started = time.perf_counter()
                classifier.logits([text])
                times.append((time.perf_counter() - started) * 1000)
            medians.append(statistics.median(times))
        figures[f"python_batch1_median_ms_{threads or 'default'}_threads"] = statistics.median(medians)
    shutil.rmtree(folder)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    run = RunFolder.open(args.run_dir)
    if not (run.web_demo_dir / "demo.html").is_file():
        from workbench.core.deploy.web import write_web_demo

        write_web_demo(run.path)
    demo, web = run.web_demo_dir / "demo.html", run.web_demo_dir / "web"
    data = payload(demo)
    parts = {role: len(part["gzip"]) for role, part in data["files"].items()}
    texts = [sample["text"] for sample in data["samples"]]
    result = {"demo_html_bytes": demo.stat().st_size, "embedded_bytes_by_part": parts,
              "model_onnx_bytes": (web / "model.onnx").stat().st_size,
              **browser_figures(demo, texts[0], args.rounds), **python_figures(web, data["labels"], texts, args.rounds)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
