"""The web demo (`workbench deploy RUN --format web`): what it writes and refuses, on a tiny run; and, in Debian's
headless Chromium on a real run of the bundled teacher, demo.html opened from disk with the network off and
web/ served from localhost, each labelling the first 200 test texts as the workbench's int8 student does."""

from __future__ import annotations

import base64
import functools
import gzip
import http.server
import json
import re
import threading
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest

from tests.tiny_deploy import make_deployable_run, workbench_int8_logits
from tests.tiny_run import bench_entry
from tests.web_browser import CHROMIUM, Browser
from workbench.cli import main
from workbench.core.deploy import web_assets
from workbench.core.deploy.web import SAMPLE_TEXTS, write_web_demo
from workbench.core.errors import WorkbenchError
from workbench.core.run_folder import RunFolder, write_json
from workbench.core.sources.split_inputs import load_split

ASSETS_INSTALLED = all((web_assets.assets_dir() / path).is_file() for path in web_assets.RUNTIME_FILES.values())
needs_assets = pytest.mark.skipif(not ASSETS_INSTALLED, reason="the web demo's JavaScript: run `make web-assets`")
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="needs chromium (.ci/run installs it)")
FILES = {"index.html", "model.onnx", "tokenizer.json", "ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm",
         "tokenizers.min.mjs", "encode.mjs"}
BROWSER_TEXTS = 200


def payload(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="payload">(.*?)</script>', text, re.S).group(1))


def unpacked(part: dict) -> bytes:
    return gzip.decompress(base64.b64decode(part["gzip"]))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_csv) -> Path:
    """A finished tiny run, benchmarked: the teacher in PyTorch at 20 ms, the int8 student at 2 ms."""
    run = make_deployable_run(tmp_path_factory.mktemp("web-runs") / "run", tiny_csv)
    models = {name: {**bench_entry(ms, accuracy, size), "path": str(run / path)} for name, ms, accuracy, size, path in (
        ("teacher-torch-fp32", 20.0, 0.80, 40 * 2**20, "teacher"),
        ("student-onnx-int8", 2.0, 0.76, 2.5 * 2**20, "onnx/student-int8.onnx"))}
    write_json(RunFolder(run).bench_path, {"models": models, "threads": 2})
    return run


@needs_assets
def test_demo_html_carries_everything_and_web_holds_the_same_files(tiny_run, tmp_path, capsys):
    assert main(["deploy", str(tiny_run), "--format", "web", "--out", str(tmp_path / "demo")]) == 0
    assert "demo.html" in capsys.readouterr().out
    demo, web = tmp_path / "demo" / "demo.html", tmp_path / "demo" / "web"
    assert {p.name for p in web.iterdir()} == FILES and not list(tmp_path.glob(".*partial"))
    inline, hosted = payload(demo), payload(web / "index.html")
    assert set(inline["files"]) == set(hosted["files"]) == {"model", "tokenizer", "ort", "wasm", "tokenizers", "encode"}
    for role, part in hosted["files"].items():  # the page's files, byte for byte, in both forms
        assert unpacked(inline["files"][role]) == (web / part["file"]).read_bytes()
    run = RunFolder(tiny_run)
    assert (web / "model.onnx").read_bytes() == run.onnx_path("student-int8.onnx").read_bytes()
    assert not re.search(r'(src|href)="(https?:)?//', demo.read_text(encoding="utf-8"))  # nothing to fetch
    test = load_split(tiny_run, "test")
    texts = test.texts[:SAMPLE_TEXTS]
    labels = inline["labels"]
    one_at_a_time = [labels[int(i)] for i in workbench_int8_logits(tiny_run, texts, batch_size=1).argmax(axis=1)]
    assert inline["samples"] == [{"text": t, "label": label} for t, label in zip(texts, one_at_a_time, strict=True)]
    assert inline["max_length"] == run.recipe().data.max_length
    assert inline["figures"]["headline"] == ("16× smaller, 10× faster, test accuracy 76.0% vs the teacher's 80.0% "
                                             "(no share given: the test split's size is unknown)")  # bench.json
    assert inline["gate"].startswith("not checked")  # the tiny run recorded no parity check


def test_without_the_javascript_it_says_how_to_get_it_in_one_line_and_writes_nothing(tiny_run, tmp_path,
                                                                                      monkeypatch, capsys):
    monkeypatch.setattr(web_assets, "assets_dir", lambda: tmp_path / "no-assets")
    assert main(["deploy", str(tiny_run), "--format", "web", "--out", str(tmp_path / "demo")]) == 2
    error = capsys.readouterr().err
    assert "make web-assets" in error and error.count("\n") == 1
    assert not (tmp_path / "demo").exists() and not list(tmp_path.glob(".*partial"))


@needs_assets
def test_a_tokenizer_the_browser_library_lacks_is_refused_before_a_page_is_written(tiny_csv, tmp_path):
    from tests.tiny_families import CASES, family_tokenizer

    run = RunFolder(make_deployable_run(tmp_path / "run", tiny_csv))
    family_tokenizer(CASES["xlm-roberta"], run.student_dir)  # tokenizers' own Unigram trainer: an Nmt normalizer
    with pytest.raises(WorkbenchError, match="uses Nmt normalizer.*leave out --format web"):
        write_web_demo(run.path)
    assert not run.web_demo_dir.exists() and not list(run.path.glob(".*partial"))


@needs_assets
def test_a_folder_of_other_files_is_never_written_over(tiny_run, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(WorkbenchError, match="holds no earlier web demo"):
        write_web_demo(tiny_run, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_the_web_demo_ships_the_int8_student_only(tiny_run, capsys):
    assert main(["deploy", str(tiny_run), "--format", "web", "--model", "fp32"]) == 2
    assert "int8 student only" in capsys.readouterr().err


# -- in the browser, on a real run ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    """A real job on the bundled teacher and tweets, a few steps a stage at a rate that teaches it something, with
    200 test texts: an int8 student whose labels vary."""
    from workbench.core.recipe import Recipe
    from workbench.core.sources.resources import preset_path

    folder = tmp_path_factory.mktemp("web-real")
    recipe = Recipe.load(preset_path("smoke"))
    recipe.data.train_size, recipe.data.dev_size, recipe.data.test_size = 160, 64, BROWSER_TEXTS
    for stage in (recipe.distillation.teacher_finetune, recipe.distillation.intermediate,
                  recipe.distillation.prediction):
        stage.lr = 5e-4
    recipe.quantization.reference_models = False  # no teacher exports, no benchmark: the page needs neither
    recipe.output_dir = str(folder / "runs")
    assert main(["run", str(recipe.save(folder / "web-real.yaml"))]) == 0
    run = next((folder / "runs").glob("smoke-*"))
    write_web_demo(run)
    return run


@pytest.fixture(scope="module")
def expected_labels(real_run) -> list[str]:
    """The workbench's own int8 labels of the first test texts: its runner and tokenizer, one text at a time as
    the page runs them. (Batched, the workbench's own labels move too: dynamic int8 scales depend on the batch,
    and on one such run 2% of these texts changed label between batches of 32 and single texts.)"""
    texts = load_split(real_run, "test").texts[:BROWSER_TEXTS]
    labels = payload(RunFolder(real_run).web_demo_dir / "demo.html")["labels"]
    return [labels[int(i)] for i in workbench_int8_logits(real_run, texts, batch_size=1).argmax(axis=1)]


def labels_in_the_page(page, texts: list[str]) -> list[str]:
    """Each text typed into the page's box and classified there; its label read from the element #label."""
    page.evaluate("window.demo.ready")
    return page.evaluate(f"(async () => {{ const out = []; for (const text of {json.dumps(texts)}) "
                         "out.push(await window.demo.classifyText(text)); return out; })()", timeout=600)


def assert_agrees(page_labels: list[str], expected: list[str]) -> None:
    assert len(set(expected)) >= 2  # a student that says one label everywhere would prove nothing
    agreement = np.mean([a == b for a, b in zip(page_labels, expected, strict=True)])
    assert agreement >= 0.99, f"the page agrees with the workbench on {agreement:.1%} of {len(expected)} texts"


@pytest.mark.integration
@needs_assets
@needs_chromium
def test_demo_html_from_disk_with_the_network_off_labels_as_the_workbench_does(real_run, expected_labels, tmp_path):
    demo = RunFolder(real_run).web_demo_dir / "demo.html"
    texts = load_split(real_run, "test").texts[:BROWSER_TEXTS]
    with Browser() as browser:
        page = browser.open(f"{demo.as_uri()}#text={quote(texts[0], safe='')}", offline=True)
        page.evaluate("window.demo.ready")  # the #text= link classified its text on load
        assert page.evaluate("[document.getElementById('text').value, document.getElementById('label').textContent]"
                             ) == [texts[0], expected_labels[0]]
        assert_agrees(labels_in_the_page(page, texts), expected_labels)
        samples = page.evaluate("window.demo.runSamples()", timeout=300)
        assert samples["agreement"] >= 0.99 and samples["medianMs"] > 0
        assert "the same label as the workbench on" in page.evaluate("document.getElementById('samples-result')"
                                                                     ".textContent")
        page.screenshot(tmp_path / "demo.png")
        assert all(url.startswith(("file:", "blob:", "data:")) for url in page.requested_urls()), page.requested_urls()


@pytest.mark.integration
@needs_assets
@needs_chromium
def test_web_folder_served_from_localhost_labels_as_the_workbench_does(real_run, expected_labels):
    web = RunFolder(real_run).web_demo_dir / "web"
    handler = functools.partial(QuietHandler, directory=str(web))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with Browser() as browser:
            page = browser.open(origin + "index.html")
            assert_agrees(labels_in_the_page(page, load_split(real_run, "test").texts[:BROWSER_TEXTS]), expected_labels)
            urls = page.requested_urls()
    finally:
        server.shutdown()
        server.server_close()
    assert {url.removeprefix(origin) for url in urls if url.startswith(origin)} >= FILES - {"index.html"}
    assert all(url.startswith((origin, "blob:", "data:")) for url in urls), urls


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

