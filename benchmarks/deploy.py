"""The deploy bundle against the teacher through a transformers pipeline, side by side in one run:

- installed size: du of the site-packages of the bundle's receiver environment (a fresh venv with only
  requirements.txt installed, pip and setuptools included) against what torch + transformers and everything
  they require occupy in the workbench's own environment (their installed files, summed from each
  distribution's RECORD: a second venv would hold the same files; torch is the CPU wheel, a default
  `pip install torch` on Linux brings the far larger CUDA build); the bundle's requirements summed the same
  way are printed too;
- cold start: wall time from starting a process to its first label on stdout (predict.py in the receiver
  environment; a script building `pipeline("text-classification", RUN/teacher)` in the workbench's), and the
  peak RSS of that process, both taken by a small launcher process; median of --launches launches after one
  warm-up launch each (which fills the file cache), the two kinds interleaved;
- batch-1 latency: median over test texts of one text per call, in this process, both on one thread;
- with --pypi (needs PyPI): what a default `pip install torch transformers` brings on this platform (pip
  resolves it with --dry-run against pypi.org alone, ignoring local wheels and constraints; the sizes come
  from PyPI's JSON simple API). That is the wheels' download size, a lower bound of their installed size;
  on Linux x86-64 it holds PyPI's default torch, the CUDA build with its nvidia-* libraries.

    PYTHONPATH=. .venv/bin/python benchmarks/deploy.py RUN_DIR [--launches 5] [--texts 50] [--pypi]

Goal (issue 15): install >= 10x smaller, cold start >= 5x faster.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from workbench.core.deploy.bundle import write_bundle
from workbench.core.deploy.receiver import RECEIVER_ENV, make_receiver_env
from workbench.core.measure.inference import teacher_folder
from workbench.core.sources.split_inputs import load_split

LAUNCHER = """import os, subprocess, sys, time
started = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
first = process.stdout.readline()
elapsed = time.perf_counter() - started
process.stdout.read()
_, status, usage = os.wait4(process.pid, 0)
if not first.strip() or os.waitstatus_to_exitcode(status):
    sys.exit(f"no label (exit status {os.waitstatus_to_exitcode(status)})")
print(elapsed, usage.ru_maxrss)
"""
PIPELINE_SCRIPT = """import sys
from transformers import pipeline
classify = pipeline("text-classification", model=sys.argv[1], device="cpu")
print(classify(sys.argv[2])[0]["label"], flush=True)
"""


def du_bytes(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def site_packages(python: Path) -> Path:
    done = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, env=RECEIVER_ENV)
    return Path(done.stdout.strip())


def installed_closure_bytes(roots: list[str]) -> tuple[int, list[str]]:
    """Bytes on disk of the named distributions and every distribution they require (no extras)."""
    seen: dict[str, metadata.Distribution] = {}
    pending = list(roots)
    while pending:
        name = pending.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    total = 0
    for dist in seen.values():
        for file in dist.files or []:
            path = Path(dist.locate_file(file))
            if path.is_file():
                total += path.stat().st_size
    return total, sorted(seen)


def cold_start(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(seconds from process start to its first stdout line, peak RSS in bytes), both taken by a small
    launcher process: Linux carries a parent's peak RSS over fork and exec into the child's, so this
    benchmark's own hundreds of MiB would otherwise be every child's floor."""
    done = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *command], capture_output=True, text=True,
                          env=env, timeout=600)
    if done.returncode:
        raise SystemExit(f"{command[:2]} printed no label: {done.stderr.strip()[-500:]}")
    seconds, peak_kib = done.stdout.split()
    return float(seconds), int(peak_kib) * 1024  # Linux reports ru_maxrss in KiB


def latency_ms(call, texts: list[str]) -> float:
    call(texts[0])
    times = []
    for text in texts:
        started = time.perf_counter()
        call(text)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def in_process_latencies(bundle: Path, teacher: Path, texts: list[str]) -> tuple[float, float]:
    import torch
    from transformers import pipeline

    spec = importlib.util.spec_from_file_location("bundle_predict", bundle / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    classifier = module.Classifier(bundle, "model.onnx", threads=1)
    torch.set_num_threads(1)
    classify = pipeline("text-classification", model=str(teacher), device="cpu")
    return latency_ms(lambda t: classifier.predict([t]), texts), latency_ms(lambda t: classify(t), texts)


def row(name: str, bundle: str, teacher: str, ratio: float) -> str:
    return f"{name:<34} {bundle:>16} {teacher:>22} {ratio:>8.1f}x"


def default_install_download_bytes(requirements: list[str], torch_version: str) -> int:
    """Download bytes of the wheels a default `pip install` of `requirements` resolves to from pypi.org."""
    import urllib.request

    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        isolated = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": "", "PIP_CONSTRAINT": ""}
        subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                        "--report", str(report), "--index-url", "https://pypi.org/simple",
                        f"torch=={torch_version}", *requirements], check=True, env=isolated, timeout=600)
        resolved = json.loads(report.read_text())["install"]
    total = 0
    for item in resolved:
        filename = item["download_info"]["url"].rsplit("/", 1)[-1]
        project = item["metadata"]["name"].lower().replace("_", "-")
        request = urllib.request.Request(f"https://pypi.org/simple/{project}/",
                                         headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            files = json.load(answer)["files"]
        total += next(f["size"] for f in files if f["filename"] == filename)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--texts", type=int, default=50, help="test texts timed one at a time")
    parser.add_argument("--pypi", action="store_true",
                        help="also size a default `pip install torch transformers` from pypi.org")
    args = parser.parse_args()
    teacher = teacher_folder(Path(args.run_dir))
    if teacher is None:
        raise SystemExit(f"{args.run_dir}: has no task teacher to compare with")
    texts = load_split(args.run_dir, "test").texts[:args.texts]
    text = " ".join(texts[0].split())
    with tempfile.TemporaryDirectory() as scratch:
        bundle = write_bundle(args.run_dir, Path(scratch) / "bundle").path
        python = make_receiver_env(Path(scratch) / "venv", bundle / "requirements.txt")
        bundle_bytes = du_bytes(site_packages(python))
        light_bytes, _ = installed_closure_bytes(["onnxruntime", "tokenizers", "numpy"])
        heavy_bytes, heavy = installed_closure_bytes(["torch", "transformers"])
        offline = dict(RECEIVER_ENV, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
        commands = {"bundle": ([str(python), str(bundle / "predict.py"), text], RECEIVER_ENV),
                    "teacher": ([sys.executable, "-c", PIPELINE_SCRIPT, str(teacher), text], offline)}
        starts: dict[str, list[tuple[float, int]]] = {"bundle": [], "teacher": []}
        for command, env in commands.values():
            cold_start(command, env)  # warm-up: file cache
        for _ in range(args.launches):
            for name, (command, env) in commands.items():
                starts[name].append(cold_start(command, env))
        bundle_ms, teacher_ms = in_process_latencies(bundle, teacher, texts)
        model_bytes = (bundle / "model.onnx").stat().st_size
    seconds = {name: statistics.median(s for s, _ in runs) for name, runs in starts.items()}
    rss = {name: statistics.median(r for _, r in runs) for name, runs in starts.items()}
    mib = 2**20
    print(f"run {args.run_dir}; teacher {teacher}; {os.cpu_count()} CPUs (shared machine: figures drift)")
    print(f"torch + transformers closure ({len(heavy)} distributions): {', '.join(heavy)}")
    print(f"{'':<34} {'bundle':>16} {'teacher pipeline':>22} {'ratio':>9}")
    print(row("installed size: receiver venv du", f"{bundle_bytes / mib:.0f} MiB", f"{heavy_bytes / mib:.0f} MiB",
              heavy_bytes / bundle_bytes) + "   goal >= 10x (venv du includes pip, setuptools)")
    print(row("installed size: requirement closure", f"{light_bytes / mib:.0f} MiB", f"{heavy_bytes / mib:.0f} MiB",
              heavy_bytes / light_bytes) + "   (both summed from RECORD files in the workbench's venv)")
    if args.pypi:
        import torch

        default = default_install_download_bytes(["transformers"], torch.__version__.split("+")[0])
        print(row("default pip install, download only", f"{bundle_bytes / mib:.0f} MiB", f"{default / mib:.0f} MiB",
                  default / bundle_bytes) + "   (PyPI's torch with CUDA; installed it is larger still)")
    print(row(f"cold start, median of {args.launches}", f"{seconds['bundle']:.2f} s",
              f"{seconds['teacher']:.2f} s", seconds["teacher"] / seconds["bundle"]) + "   goal >= 5x")
    print(row("peak RSS of that process", f"{rss['bundle'] / mib:.0f} MiB", f"{rss['teacher'] / mib:.0f} MiB",
              rss["teacher"] / rss["bundle"]))
    print(row(f"batch-1 latency, 1 thread, {len(texts)} texts", f"{bundle_ms:.2f} ms", f"{teacher_ms:.2f} ms",
              teacher_ms / bundle_ms))
    print(f"model file: bundle model.onnx {model_bytes / mib:.1f} MiB")


if __name__ == "__main__":
    main()
