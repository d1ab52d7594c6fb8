"""The run report: one HTML page that opens, names only PNG files beside it, and says what a stakeholder needs."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.tiny import tiny_recipe
from workbench.core.events import Finished
from workbench.core.job import run_job
from workbench.core.report.document import write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """The page's images, its whole text, and the text inside elements of class 'flag' (the red flags)."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.text: list[str] = []
        self.flags: list[str] = []
        self._open: list[bool] = []  # per open element: is it (inside) a flag
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.images.append(attributes)
        elif tag not in ("br", "meta"):
            self._open.append("flag" in attributes.get("class", "").split() or any(self._open))

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("img", "br", "meta") and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open and self._open[-1]:
            self.flags.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture(scope="module")
def run_dir(tiny_base_dir, tiny_csv, tmp_path_factory) -> Path:
    """A finished tiny run with FFN and vocabulary pruning (so every section has something to show)."""
    recipe = tiny_recipe(tiny_base_dir, tiny_csv, tmp_path_factory.mktemp("runs"))
    recipe.pruning.enabled, recipe.pruning.ffn_ratio, recipe.pruning.vocabulary = True, 0.5, True
    recipe.quantization.enabled = True
    finished = list(run_job(recipe))[-1]
    assert isinstance(finished, Finished) and finished.status == "finished", finished
    return Path(finished.run_dir)


def open_report(run_dir: Path) -> tuple[Path, Page]:
    path = write_report(run_dir)
    assert path == run_dir / "report" / "index.html" and path.is_file()
    page = Page(path.read_text(encoding="utf-8"))
    for image in page.images:
        src = image["src"]
        assert "/" not in src and ":" not in src, f"{src}: images are named relative to the page's own folder"
        assert (path.parent / src).read_bytes().startswith(PNG_SIGNATURE), src
        assert image.get("alt", "").strip(), f"{src} has no alt text"
    return path, page


def sources(page: Page) -> list[str]:
    return [image["src"] for image in page.images]


def test_a_jobs_report_has_measured_speed_against_the_fused_int8_teacher(run_dir):
    _, page = open_report(run_dir)
    assert "speed not measured yet" not in page.all_text and "faster" in page.all_text
    bench = json.loads((run_dir / "bench.json").read_text())
    measured = set(bench["models"])
    assert {"teacher-torch-fp32", "teacher-onnx-int8", "student-torch-fp32", "student-onnx-int8"} <= measured


def test_report_of_an_unbenchmarked_run_shows_every_chart_and_says_speed_is_unmeasured(run_dir):
    bench = run_dir / "bench.json"
    measured = bench.read_bytes()
    bench.unlink()  # as a run from before every job measured its speed
    try:
        _, page = open_report(run_dir)
    finally:
        bench.write_bytes(measured)
    text = page.all_text
    assert "smaller, speed not measured yet," in text and "of the teacher's accuracy" in text
    assert "Not benchmarked yet" in text and "Not checked yet" not in text  # the job checked parity itself
    assert "student-int8.onnx" in text
    assert {"confusion-matrices.png", "dev-accuracy.png", "layer-mapping.png"} <= set(sources(page))
    assert {"loss-teacher-finetune.png", "loss-intermediate.png", "loss-prediction.png",
            "loss-recovery.png"} <= set(sources(page))
    confusion = next(i for i in page.images if i["src"] == "confusion-matrices.png")
    assert "negative, neutral, positive" in confusion["alt"] and "student, full vocabulary" in confusion["alt"]
    assert "FFN neurons per layer" in text and "tokens in the vocabulary" in text
    assert "name: smoke" in text  # the recipe as YAML


def test_benchmarked_report_has_the_pareto_chart_and_flags_an_artifact_that_failed_parity(run_dir):
    from workbench.core.compress.parity import check_run
    from workbench.core.measure.benchmark import benchmark_run
    from workbench.core.sources.split_inputs import load_split

    benchmark_run(run_dir, threads=1, batches=(1,), seq_lens=(8,), repeats=2, warmup=1)
    check_run(run_dir, dev=load_split(run_dir, "dev"))
    _, page = open_report(run_dir)
    assert "faster" in page.all_text and "student-onnx-int8 against teacher-torch-fp32" in page.all_text
    # The tiny job's sanity flags (an untrained teacher, 24 test examples) are listed; no parity flag is.
    assert "pareto.png" in sources(page) and not any("not shipped" in flag.lower() for flag in page.flags)

    parity_path = run_dir / "onnx" / "parity.json"
    parity = json.loads(parity_path.read_text())
    int8 = next(r for r in parity["results"] if r["artifact"] == "student-int8.onnx")
    int8["ok"], parity["all_ok"] = False, False
    parity_path.write_text(json.dumps(parity))
    _, page = open_report(run_dir)
    flags = " ".join(page.flags)
    assert "not shipped" in flags.lower() and "student-int8.onnx" in flags
    # The headline now speaks for the best student that passed, not for the flagged one.
    assert "student-onnx-fused-fp32 against teacher-torch-fp32" in page.all_text

    # A reference teacher off its gate is marked where it appears, never a banner over the student's result.
    teacher = next(r for r in parity["results"] if r["artifact"] == "teacher-int8.onnx")
    int8["ok"], teacher["ok"], teacher["verdict"] = True, False, "worse"
    parity_path.write_text(json.dumps(parity))
    _, page = open_report(run_dir)
    assert "not shipped" not in page.all_text.lower()
    assert "student-onnx-int8 against teacher-torch-fp32" in page.all_text
    assert "worse: reference only" in " ".join(page.flags) and "reference only: parity failed" in page.all_text


def test_the_job_times_each_phase_and_the_report_shows_where_the_time_went(run_dir):
    timings = json.loads((run_dir / "timings.json").read_text())
    assert {"reading data and models", "teacher_finetune", "intermediate", "prediction", "pruning", "scoring",
            "export", "benchmark"} <= set(timings["phases"])
    assert all(seconds >= 0 for seconds in timings["phases"].values())
    _, page = open_report(run_dir)
    assert "Where the time went" in page.all_text and "reading data and models" in page.all_text
