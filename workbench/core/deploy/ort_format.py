"""The model in ONNX Runtime's ORT format, for the mobile and reduced builds of ONNX Runtime (Android, iOS,
embedded), made by ONNX Runtime's own converter (onnxruntime.tools.convert_onnx_models_to_ort).

The converter's "Fixed" optimisation style bakes the graph optimisations into the file, which is its advice
for the CPU execution provider; it leaves out the x86-only NCHWc layout unless told the target is amd64, so
the file runs on ARM too. Beside model.ort it writes model.required_operators.config: the list to build a
reduced ONNX Runtime with (`build.sh --minimal_build --include_ops_by_config model.required_operators.config`).
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

from workbench.core.deploy.errors import DeployError
from workbench.core.quiet import quiet_onnx

OPERATORS_SUFFIX = ".required_operators.config"


def convert_to_ort(onnx_path: Path) -> tuple[Path, Path]:
    """Write NAME.ort and NAME.required_operators.config beside NAME.onnx; return both paths."""
    # The Python API rather than `python -m`: a packaged app has no interpreter to run a module with.
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    log = io.StringIO()
    try:  # it narrates each step on stdout and its logger; the files say what happened
        with quiet_onnx(logging.INFO), contextlib.redirect_stdout(log):
            convert_onnx_models_to_ort(onnx_path, output_dir=onnx_path.parent,
                                       optimization_styles=[OptimizationStyle.Fixed])
    except Exception as error:  # the converter raises whatever ONNX Runtime raised
        raise DeployError(f"{onnx_path.name}: ONNX Runtime's ORT-format converter failed "
                          f"({str(error).splitlines()[0][:200]})") from None
    ort_path, operators = onnx_path.with_suffix(".ort"), onnx_path.with_suffix(OPERATORS_SUFFIX)
    if not (ort_path.is_file() and operators.is_file()):
        raise DeployError(f"{onnx_path.name}: ONNX Runtime's ORT-format converter wrote no model "
                          f"({log.getvalue().strip().splitlines()[-1:] or 'no output'})")
    # Its header names the model by absolute path: here, a folder the receiver never sees.
    header = operators.read_text(encoding="utf-8").replace(str(ort_path.resolve()), ort_path.name)
    operators.write_text(header, encoding="utf-8")
    return ort_path, operators
