import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import sys  # noqa: E402

import pytest  # noqa: E402

from tests.tiny import save_tiny_bert, tiny_recipe, write_tiny_csv  # noqa: E402


@pytest.fixture(autouse=True)
def wait_for_background():
    """Every test, GUI or not, leaves no background work running into the next one or into interpreter
    shutdown (the suite once crashed there; Qt torn down while a pool thread ended its run is the suspect):
    the window's job and search workers, model summaries and previews run in Qt's thread pool. Wait for
    them, then deliver their last queued signals, which drop superqt's and the window's references to the
    finished workers."""
    yield
    if "PySide6.QtCore" in sys.modules:
        from PySide6.QtCore import QCoreApplication, QThreadPool

        QThreadPool.globalInstance().waitForDone(60_000)
        if QCoreApplication.instance() is not None:
            QCoreApplication.processEvents()


@pytest.fixture(autouse=True)
def discard_unsaved_recipes(monkeypatch):
    """A window closed at a test's end with its recipe edited would ask Save / Discard / Cancel in a modal
    box that nobody answers: tests discard, except the one about that question (tests/test_gui_traps.py)."""
    from PySide6.QtWidgets import QMessageBox

    from workbench.gui import closing

    monkeypatch.setattr(closing, "ask_unsaved", lambda parent, name: QMessageBox.StandardButton.Discard)


@pytest.fixture(scope="session")
def tiny_base_dir(tmp_path_factory):
    """A tiny BERT encoder with no classification head, and its tokenizer."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-base"))


@pytest.fixture(scope="session")
def tiny_classifier_dir(tmp_path_factory):
    """A tiny BERT with a 3-label (negative / neutral / positive) head, and its tokenizer."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-clf"), with_head=True)


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory):
    return write_tiny_csv(tmp_path_factory.mktemp("data") / "tiny.csv")


@pytest.fixture
def recipe(tiny_base_dir, tiny_csv, tmp_path):
    """The tiny job's recipe (tests/tiny.py), writing its runs under the test's own folder."""
    return tiny_recipe(tiny_base_dir, tiny_csv, tmp_path / "runs")


@pytest.fixture
def recipe_path(recipe, tmp_path):
    """The tiny job's recipe saved as a file, for the window to open."""
    return recipe.save(tmp_path / "tiny.yaml")
