import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs one pytest-xdist worker a core: one thread each, set
    for threads in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before torch loads, so the workers share no core
        os.environ.setdefault(threads, "1")

import sys  # noqa: E402

import pytest  # noqa: E402

from tests.tiny import save_tiny_bert, tiny_recipe, write_tiny_csv  # noqa: E402

# The files that take longest, slowest first (measured with --durations). Under `make test` (--dist loadfile
# --no-loadscope-reorder) they start first, so that no worker is left running one of them alone at the end.
SLOWEST_FILES = ("test_job.py", "test_hostile_concurrency.py", "test_families_end_to_end.py", "test_search_workers.py",
                 "test_search_hostile.py", "test_teacher_reuse.py", "test_gui_import_race.py", "test_cli_run.py",
                 "test_resume_property.py", "test_web_demo.py", "test_gui_panels.py", "test_benchmark.py")


def pytest_collection_modifyitems(items):
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker collects alike; a plain run keeps the file order
        first = {name: rank for rank, name in enumerate(SLOWEST_FILES)}
        items.sort(key=lambda item: first.get(item.path.name, len(first)))  # stable: the rest keep their order


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
