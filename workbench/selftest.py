"""`--selftest`: prove that an installation (above all the packaged app) has everything it needs.

Each check prints one line, "ok  <check> (<seconds>)" or "FAIL <check>: <reason>", and the exit status is
non-zero when any check failed. The checks import what a frozen build tends to lose (lazily imported model
classes, data files, Qt plugins), so they run the real code paths on tiny inputs rather than asking whether
files exist. Only the window check touches Qt; every other check runs without PySide6.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import workbench
from workbench.core.quiet import quiet_environment

# Libraries the engine imports inside functions; a frozen build must carry every one of them.
CORE_LIBRARIES = (
    "torch", "transformers", "tokenizers", "safetensors.torch", "datasets", "accelerate", "onnx", "onnxruntime",
    "onnxruntime.quantization", "onnxruntime.transformers.optimizer", "torch.utils.tensorboard",
    "matplotlib.backends.backend_agg", "yaml", "pydantic", "charset_normalizer", "optuna",
    "onnxruntime.tools.convert_onnx_models_to_ort",
    # transformers imports hub kernels' package, which reads a data file of its own on import (kernels >= 0.19)
    "transformers.integrations.hub_kernels", "scipy.stats",
)
GUI_LIBRARIES = ("PySide6.QtWidgets", "PySide6.QtSvg", "pyqtgraph", "superqt")
# Names the engine takes from transformers' lazy top-level module.
TRANSFORMERS_NAMES = (
    "AutoConfig", "AutoModel", "AutoModelForMaskedLM", "AutoModelForSequenceClassification", "AutoTokenizer",
    "BertConfig", "BertModel", "BertForSequenceClassification", "BertTokenizerFast", "DataCollatorWithPadding",
    "PreTrainedModel", "PretrainedConfig", "get_linear_schedule_with_warmup",
)
WINDOW_TIMEOUT_S = 120

Check = tuple[str, Callable[[], None]]


def _import_tree(package: str) -> None:
    """Import a workbench package and every module below it."""
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        importlib.import_module(module.name)


def check_core_imports() -> None:
    for name in CORE_LIBRARIES:
        importlib.import_module(name)
    _import_tree("workbench.core")
    import transformers

    for name in TRANSFORMERS_NAMES:
        getattr(transformers, name)


def check_model_families() -> None:
    """Every family the engine supports resolves to a sequence classifier class (transformers loads model
    modules lazily, so a build that misses one only fails when a user picks such a teacher)."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING

    from workbench.core.sources.families import FAMILIES

    for family in FAMILIES:
        for model_type in family.model_types:
            MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[type(AutoConfig.for_model(model_type))]


def check_bundled_defaults() -> None:
    from workbench.core.recipe import BUNDLED_TEACHER
    from workbench.core.sources.models import load_tokenizer, resolve_model_source
    from workbench.core.sources.resources import bundled_tweets_csv, preset_path

    tokenizer = load_tokenizer(resolve_model_source(BUNDLED_TEACHER))
    if len(tokenizer("the packaged app works offline")["input_ids"]) < 4:
        raise AssertionError("the bundled tokenizer gave too few tokens")
    with bundled_tweets_csv().open(encoding="utf-8", errors="replace") as corpus:
        header = corpus.readline()
    if "text" not in header or "sentiment" not in header:
        raise AssertionError(f"the tweet corpus has an unexpected header: {header.strip()[:80]}")
    preset_path("quick-demo")


def _tiny_classifier(folder: Path):
    """A 2-layer BERT with random weights, saved to `folder` like a run's student."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, num_labels=3)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    return model


def _tiny_batch() -> dict:
    import numpy as np

    ids = np.array([[2, 10, 11, 12, 3, 0], [2, 13, 14, 15, 16, 3]], dtype=np.int64)
    return {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int64), "token_type_ids": np.zeros_like(ids)}


def check_torch_forward() -> None:
    import torch

    with tempfile.TemporaryDirectory() as folder:
        model = _tiny_classifier(Path(folder))
    with torch.no_grad():
        logits = model(**{k: torch.from_numpy(v) for k, v in _tiny_batch().items()}).logits
    if logits.shape != (2, 3) or not torch.isfinite(logits).all():
        raise AssertionError(f"unexpected logits {tuple(logits.shape)}")


def check_onnx_runtime() -> None:
    """Export, fuse and quantize to int8 with the engine's own functions (as a run does), then run the fp32
    and int8 models in ONNX Runtime."""
    import numpy as np
    import torch

    from workbench.core.compress.export import export_onnx, fuse, quantize_dynamic_int8
    from workbench.core.sources.model_runner import ort_session

    batch = _tiny_batch()
    with tempfile.TemporaryDirectory() as folder:
        model = _tiny_classifier(Path(folder) / "model")
        fp32 = export_onnx(Path(folder) / "model", Path(folder) / "tiny.onnx")
        fused = Path(folder) / "tiny-fused.onnx"
        fuse(fp32, fused, model.config)
        int8 = quantize_dynamic_int8(fused, Path(folder) / "tiny-int8.onnx")
        with torch.no_grad():
            expected = model(**{k: torch.from_numpy(v) for k, v in batch.items()}).logits.numpy()
        logits = {}
        for path in (fp32, int8):
            session = ort_session(path, threads=1)
            logits[path] = session.run(["logits"], {i.name: batch[i.name] for i in session.get_inputs()})[0]
    delta = float(np.abs(logits[fp32] - expected).max())
    if delta > 1e-4:
        raise AssertionError(f"ONNX fp32 differs from PyTorch by {delta:.2e}")
    if logits[int8].shape != expected.shape:
        raise AssertionError(f"int8 logits of shape {logits[int8].shape}, expected {expected.shape}")


def check_window() -> None:
    """Open the main window on the quick-demo preset (offscreen unless a display is there), wait until the
    bundled teacher is described in it, then close it."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    for name in GUI_LIBRARIES:
        importlib.import_module(name)
    _import_tree("workbench.gui")
    from PySide6.QtCore import QSettings, QThreadPool
    from PySide6.QtWidgets import QApplication

    from workbench.core.recipe import Recipe
    from workbench.core.sources.resources import preset_path
    from workbench.gui.icon import app_icon
    from workbench.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setWindowIcon(app_icon())
    with tempfile.TemporaryDirectory() as folder:
        # The user's recent-recipes list and window geometry are left alone.
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(Recipe.load(preset_path("quick-demo")), preset_path("quick-demo"), settings)
        try:
            window.show()
            _wait(app, lambda: window.models.info.teacher is not None, WINDOW_TIMEOUT_S)
            if "TinyBERT Workbench" not in window.windowTitle():
                raise AssertionError(f"window title is {window.windowTitle()!r}")
            if window.windowIcon().isNull():
                raise AssertionError("the window has no icon")
        finally:
            window.close()
            window.deleteLater()
            QThreadPool.globalInstance().waitForDone(WINDOW_TIMEOUT_S * 1000)
            app.processEvents()


def _wait(app, condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the bundled teacher was not described in the window within {timeout_s} s")
        app.processEvents()
        time.sleep(0.02)


CHECKS: tuple[Check, ...] = (
    ("imports", check_core_imports),
    ("model families", check_model_families),
    ("bundled teacher and data", check_bundled_defaults),
    ("torch forward", check_torch_forward),
    ("onnx export and onnxruntime", check_onnx_runtime),
    ("main window", check_window),
)


def run_checks(checks: Sequence[Check], out: TextIO | None = None) -> bool:
    """Run every check (a failure does not stop the others); True when all passed. `out` defaults to the
    sys.stdout of the moment (not of import time, which a test's capture may have replaced since)."""
    out = out or sys.stdout
    passed = True
    for name, check in checks:
        start = time.perf_counter()
        try:
            check()
        except Exception as error:  # a self-test reports every failure, whatever its type
            passed = False
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            print(f"FAIL {name}: {type(error).__name__}: {reason}", file=out, flush=True)
            if os.environ.get("WORKBENCH_SELFTEST_TRACEBACK"):
                traceback.print_exception(error)
        else:
            print(f"ok  {name} ({time.perf_counter() - start:.1f}s)", file=out, flush=True)
    return passed


def main() -> int:
    quiet_environment()
    frozen = " (packaged)" if getattr(sys, "frozen", False) else ""
    print(f"TinyBERT Workbench {workbench.__version__} self-test{frozen}", flush=True)
    return 0 if run_checks(CHECKS) else 1
