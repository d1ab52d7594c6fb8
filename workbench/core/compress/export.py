"""ONNX artifacts of a run: fp32 export, ONNX Runtime transformer fusion, dynamic and static int8.

    RUN/onnx/teacher-fp32.onnx   the fine-tuned teacher, plain export
    RUN/onnx/student-fp32.onnx   the student, plain export
    RUN/onnx/student-fused.onnx  attention / layer norm / GELU fused (when quantization.fusion)
    RUN/onnx/student-int8.onnx   dynamic int8 of the fused model (plain one without fusion); static int8 of
                                 the plain one
    RUN/onnx/student-int4.onnx  with quantization.int4: weight-only int4 (compress/int4.py)
    RUN/onnx/int8_guard.json     with quantization.max_accuracy_drop: the nodes int8 left in fp32, and why
                                 (RunFolder.int8_guard_path)
    RUN/onnx/export.json         opset, exporter, fused operator counts, file sizes

Exports use the TorchScript exporter with the eager attention implementation: measured with torch 2.13 on
BERT, only that combination gives a graph in which ONNX Runtime's optimizer fuses attention (the dynamo
exporter and sdpa exports leave attention as loose MatMul / Softmax nodes).
Fusion (and the kernels it leaves out): compress/fusion.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from workbench.core.compress.fusion import ExportError, FusionReport, fuse
from workbench.core.quiet import quiet_onnx
from workbench.core.recipe import QuantizationConfig
from workbench.core.run_folder import RunFolder, link_or_copy, write_json
from workbench.core.sources.families import family_of
from workbench.core.sources.model_runner import (
    model_feeds,
    onnx_size_bytes,
    torch_input_names,
)
from workbench.core.sources.models import folder_trust
from workbench.core.sources.pruned_models import load_pruned
from workbench.core.sources.split_inputs import Batch, Split, encode_batches, load_tokenizer_from

DEFAULT_OPSET = 17
ARTIFACTS = {  # artifact file -> the run's Hugging Face folder it was made from
    "teacher-fp32.onnx": "teacher",
    "teacher-fused.onnx": "teacher",
    "teacher-int8.onnx": "teacher",  # the reference a sceptical user compares with: no distillation at all
    "student-fp32.onnx": "student",
    "student-fused.onnx": "student",
    "student-int8.onnx": "student",
    "student-int4.onnx": "student",
}

TEACHER_ARTIFACTS = [name for name, source in ARTIFACTS.items() if source == "teacher"]


def export_onnx(model_folder: str | Path, out_path: str | Path, opset: int = DEFAULT_OPSET) -> Path:
    """fp32 ONNX of a sequence classifier: inputs the model takes of INPUT_NAMES, output `logits`, dynamic
    batch and sequence axes."""
    import torch

    out_path = Path(out_path)
    try:
        model = load_pruned(model_folder, attn_implementation="eager")
    except (OSError, ValueError) as error:
        raise ExportError(f"{model_folder}: cannot load the model to export ({str(error).splitlines()[0]})") from None
    model.eval()
    names = torch_input_names(model)
    # Padding in the trace inputs keeps the masking code on its general path, not an all-ones shortcut.
    ids = torch.randint(0, model.config.vocab_size, (2, 8))
    dummy = {"input_ids": ids, "attention_mask": torch.tensor([[1] * 8, [1] * 5 + [0] * 3]),
             "token_type_ids": torch.zeros_like(ids)}
    axes = {name: {0: "batch", 1: "sequence"} for name in names} | {"logits": {0: "batch"}}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # The legacy exporter is deprecated and the tracer warns on shape checks that hold for every
        # right-padded batch; the parity check proves the result on real inputs instead.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(dummy[name] for name in names), str(out_path), input_names=names,
                          output_names=["logits"], dynamic_axes=axes, opset_version=opset, dynamo=False)
    return out_path


def quantize_dynamic_int8(onnx_in: str | Path, onnx_out: str | Path, per_channel: bool = False,
                          exclude: Sequence[str] = (), only: Sequence[str] | None = None) -> Path:
    """Dynamic int8: weights quantized ahead of time, activations at run time; nodes named in `exclude` stay
    fp32, and with `only` just those nodes are quantized (compress/int8_guard.py measures them so)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet_onnx():
        quantize_dynamic(str(onnx_in), str(onnx_out), per_channel=per_channel, weight_type=QuantType.QInt8,
                         nodes_to_exclude=list(exclude), nodes_to_quantize=list(only or []),
                         extra_options=_FUSED_GRAPH_OPTIONS)
    return Path(onnx_out)


class _CalibrationBatches:
    """ONNX Runtime's CalibrationDataReader protocol (`get_next` until None) over prepared feeds."""

    def __init__(self, feeds: Iterable[Batch]) -> None:
        self._feeds = iter(feeds)

    def get_next(self) -> Batch | None:
        return next(self._feeds, None)


def quantize_static_int8(onnx_in: str | Path, onnx_out: str | Path, calibration_batches: Iterable[Batch],
                         per_channel: bool = False, exclude: Sequence[str] = (),
                         only: Sequence[str] | None = None) -> Path:
    """Static int8 (QDQ): activation ranges calibrated on the given batches (the dev split); `exclude` and
    `only` as for dynamic int8."""
    from onnxruntime import InferenceSession
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    inputs = [i.name for i in InferenceSession(str(onnx_in), providers=["CPUExecutionProvider"]).get_inputs()]
    feeds = [model_feeds(inputs, batch) for batch in calibration_batches]
    if not feeds:
        raise ExportError(f"{onnx_in}: static int8 needs calibration batches and got none")
    with quiet_onnx():
        # uint8 activations with int8 weights and 7-bit weight range: ONNX Runtime's advice for x86 CPUs,
        # which saturate 8-bit products without VNNI. Only the weight-bearing MatMul and Gather: quantizing
        # the classifier's Gemm stops on a missing calibrated range for the pooler output on fused graphs.
        quantize_static(str(onnx_in), str(onnx_out), _CalibrationBatches(feeds), quant_format=QuantFormat.QDQ,
                        per_channel=per_channel, reduce_range=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gather"],
                        calibrate_method=CalibrationMethod.MinMax, extra_options=_FUSED_GRAPH_OPTIONS,
                        nodes_to_exclude=list(exclude), nodes_to_quantize=list(only or []))
    return Path(onnx_out)


# Shape inference cannot type the outputs of fused contrib ops (Attention, SkipLayerNormalization); without
# a default the quantizer stops on them.
_FUSED_GRAPH_OPTIONS = {"DefaultTensorType": 1}  # onnx.TensorProto.FLOAT


@dataclass
class ExportSummary:
    artifacts: dict[str, str]  # artifact file name -> path
    opset: int
    exporter: str
    fusion: FusionReport | None
    quantization: str
    sizes: dict[str, int]


def export_run(run_dir: str | Path, config: QuantizationConfig | None = None, teacher: bool = True,
               opset: int = DEFAULT_OPSET, teacher_made: Path | None = None, *, dev: Split) -> ExportSummary:
    """Write the run's ONNX artifacts (recipe's quantization settings unless `config` is given) and
    RUN/onnx/export.json. `teacher_made`: a folder holding the teacher's artifacts already made from this
    teacher with these settings (a cached teacher's), copied instead of made again. `dev`: the run's dev split,
    which static int8 calibrates on and the accuracy guard scores on (the job holds it; a command reads it once)."""
    run = RunFolder.open(run_dir)
    config = config or run.recipe().quantization
    folder = run.onnx_dir
    for name in {"student"} | ({"teacher"} if teacher else set()):
        if not run.model_dir(name).is_dir():
            raise ExportError(f"{run.path}: has no {name} model folder yet; finish the run before exporting")
    for name, source in ARTIFACTS.items():  # no stale artifact of other settings may pass for a new one
        if source == "student" or teacher:
            (folder / name).unlink(missing_ok=True)
    paths: dict[str, Path] = {}
    fusion = _export_model(run.path, "student", config, opset, paths, dev)
    if teacher and teacher_made:
        paths.update({name: link_or_copy(teacher_made / name, folder / name) for name in TEACHER_ARTIFACTS
                      if (teacher_made / name).is_file()})
    elif teacher:
        _export_model(run.path, "teacher", config, opset, paths, dev)
    summary = ExportSummary(
        artifacts={name: str(path) for name, path in paths.items()}, opset=opset,
        exporter="torch.onnx TorchScript (dynamo=False), eager attention", fusion=fusion,
        quantization=f"{config.mode} int8{' per-channel' if config.per_channel else ''}" if config.enabled else "off",
        sizes={name: onnx_size_bytes(path) for name, path in paths.items()})
    write_json(folder / "export.json", asdict(summary))
    return summary


def _export_model(run_dir: Path, name: str, config: QuantizationConfig, opset: int,
                  paths: dict[str, Path], dev: Split) -> FusionReport | None:
    """NAME-fp32.onnx, then NAME-fused.onnx and NAME-int8.onnx as the settings ask (the student's int8
    accuracy-guarded with max_accuracy_drop, and its int4 beside with int4); adds them to `paths`."""
    from transformers import AutoConfig

    run = RunFolder(run_dir)
    folder, model = run.onnx_dir, run.model_dir(name)
    plain = paths[f"{name}-fp32.onnx"] = export_onnx(model, folder / f"{name}-fp32.onnx", opset)
    fusion, model_config = None, AutoConfig.from_pretrained(model, trust_remote_code=folder_trust(model))
    # A family whose attention ONNX Runtime cannot fuse gets int8 of the plain graph (the job said so).
    if config.fusion and family_of(model_config).fusion_unsupported is None:
        fusion = fuse(plain, folder / f"{name}-fused.onnx", model_config)
        paths[f"{name}-fused.onnx"] = Path(fusion.path)
    guarded = name == "student" and config.max_accuracy_drop is not None
    guard_report = RunFolder(run_dir).int8_guard_path
    if name == "student":
        guard_report.unlink(missing_ok=True)
    if config.enabled:
        base, quantize = int8_quantizer(run_dir, name, paths, config, dev)
        int8 = paths[f"{name}-int8.onnx"] = folder / f"{name}-int8.onnx"
        if guarded:
            from workbench.core.compress.int8_guard import guard_run  # it runs models through ort_session

            guard_run(run_dir, dev, base, int8, quantize, config.max_accuracy_drop, config.mode, guard_report)
        else:
            quantize(int8, (), None)
    if config.int4 and name == "student":
        from workbench.core.compress.int4 import write_int4

        paths["student-int4.onnx"] = write_int4(plain, folder / "student-int4.onnx", model_config,
                                                config.int4_block_size)
    return fusion


def int8_quantizer(run_dir: Path, name: str, paths: dict[str, Path], config: QuantizationConfig, dev: Split
                   ) -> tuple[Path, Callable[[Path, Sequence[str], Sequence[str] | None], Path]]:
    """The fp32 model that NAME's int8 starts from and a quantizer `(out, exclude, only) -> out` for the
    recipe's mode: dynamic from the fused model (the plain one without fusion), static from the plain one
    (calibrated on the `dev` split)."""
    plain = paths[f"{name}-fp32.onnx"]
    if config.mode == "static":
        # Static QDQ cannot quantize fused Attention and EmbedLayerNormalization: from the fused graph the
        # quantized student measured 3.3 times larger and 1.6 times slower than from the plain export.
        batches = calibration_batches(dev, RunFolder(run_dir).model_dir(name), config.calibration_batches)
        return plain, lambda out, exclude, only: quantize_static_int8(plain, out, batches, config.per_channel,
                                                                      exclude, only)
    base = paths.get(f"{name}-fused.onnx", plain)
    return base, lambda out, exclude, only: quantize_dynamic_int8(base, out, config.per_channel, exclude, only)


def calibration_batches(dev: Split, model_dir: Path, count: int, batch_size: int = 32) -> list[Batch]:
    """The first `count` batches of the dev split, tokenized by the tokenizer of the model in `model_dir`."""
    tokenizer = load_tokenizer_from(model_dir)
    return encode_batches(dev.texts[:count * batch_size], tokenizer, dev.max_length, batch_size)
