"""The bundle checked the way its receiver checks it: a fresh virtual environment with nothing but the
bundle's requirements.txt installed, and predict.py run in it on the run's test split.

Wheels come from a cache folder (WORKBENCH_WHEEL_CACHE, default ~/.cache/tinybert-workbench/deploy-wheels),
installed with --no-index so that the test runs offline once the cache holds them; the first run on a machine
(or after the pins change) fills it with `pip download` from the package index. The virtual environment is
made once per test session; a machine with neither cached wheels nor an index skips these tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.tiny import LABELS
from tests.tiny_deploy import make_deployable_run, workbench_int8_logits
from workbench.core.compress.parity import compare
from workbench.core.deploy.bundle import write_bundle
from workbench.core.deploy.errors import DeployError
from workbench.core.deploy.receiver import make_receiver_env
from workbench.core.deploy.receiver import run_plain as run
from workbench.core.run_folder import RunFolder
from workbench.core.sources.split_inputs import load_split


@pytest.fixture(scope="session")
def receiver(tmp_path_factory, tiny_csv) -> tuple[Path, Path, Path]:
    """(run folder, bundle, the receiver's python)."""
    run_dir = make_deployable_run(tmp_path_factory.mktemp("venv-runs") / "run", tiny_csv)
    bundle = write_bundle(run_dir, tmp_path_factory.mktemp("venv-bundle") / "bundle").path
    try:
        python = make_receiver_env(tmp_path_factory.mktemp("receiver") / "venv", bundle / "requirements.txt")
    except DeployError as error:  # no cached wheels and no package index: nothing to install from
        pytest.skip(str(error))
    return run_dir, bundle, python


def imported_modules(importtime_log: str) -> set[str]:
    """Top-level names of every module a `python -X importtime` run imported."""
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in importtime_log.splitlines()
            if line.startswith("import time:") and line.count("|") == 2 and "cumulative" not in line}


def test_torch_and_transformers_are_not_in_the_receivers_environment(receiver):
    _, bundle, python = receiver
    done = run([python, "-c", "import importlib.util as u; "
                "print([n for n in ('torch', 'transformers', 'workbench') if u.find_spec(n)])"], cwd=bundle)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr


def test_predict_py_in_a_clean_venv_labels_the_test_split_as_the_workbench_int8_model(receiver, tmp_path):
    run_dir, bundle, python = receiver
    texts = load_split(run_dir, "test").texts
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    done = run([python, "-X", "importtime", bundle / "predict.py", "--json", "--file", tmp_path / "texts.txt"],
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["text"] for row in rows] == texts
    expected = workbench_int8_logits(run_dir, texts)
    result = compare("predict.py", "workbench int8", expected, np.array([row["logits"] for row in rows]),
                     RunFolder(run_dir).recipe().quantization)
    assert result.agreement == 1.0 and result.ok, result.message
    assert [row["label"] for row in rows] == [LABELS[i] for i in expected.argmax(-1)]
    assert all(abs(sum(row["probabilities"].values()) - 1) < 1e-6 for row in rows)
    imported = imported_modules(done.stderr)
    assert {"onnxruntime", "tokenizers", "numpy"} <= imported and not imported & {"torch", "transformers"}


def test_predict_py_reads_arguments_and_standard_input(receiver):
    _, bundle, python = receiver
    from_args = run([python, bundle / "predict.py", "good movie", "bad flight"], cwd=bundle)
    from_stdin = run([python, bundle / "predict.py"], input="good movie\nbad flight\n", cwd=bundle)
    assert from_args.returncode == 0 and from_args.stdout == from_stdin.stdout, from_args.stderr
    lines = [line.split("\t") for line in from_args.stdout.splitlines()]
    assert [line[-1] for line in lines] == ["good movie", "bad flight"] and all(line[0] in LABELS for line in lines)
    nothing = run([python, bundle / "predict.py"], input="", cwd=bundle)
    assert nothing.returncode == 0 and nothing.stdout == ""  # no text, no line
