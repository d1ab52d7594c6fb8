"""The precision a job trains in. `auto` is bf16 autocast where the hardware computes bf16 natively (a GPU
that supports it, a CPU with AVX512-BF16 or AMX), fp32 elsewhere: bf16 matrix products run about twice as
fast there (benchmarks/distill_throughput.py) while the weights and optimizer stay fp32, and an emulated
bf16 would be slower than fp32.

bf16 is applied here, around the trainable model's forward (`Bf16Forward`) and the teacher's pass for its
targets (distillation.TeacherStudentLoss), both handed on in fp32, not through Accelerate: the losses and every
evaluation stay fp32, and jobs of different precisions can run one after another in one process (Accelerate's
state is process-wide and refuses a second precision)."""

from __future__ import annotations

from typing import Any

import torch

from workbench.core.recipe import TrainingConfig

# fp16 needs Accelerate's loss scaling; bf16 does not (see Bf16Forward).
ACCELERATE_NAMES = {"fp32": "no", "fp16": "fp16", "bf16": "no"}


def training_precision(training: TrainingConfig) -> str:
    """fp32, fp16 or bf16: the recipe's choice, or what `auto` resolves to on this machine."""
    if training.precision != "auto":
        return training.precision
    if training.device != "cpu" and torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if native_cpu_bf16() else "fp32"


def native_cpu_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware. torch answers only through private helpers, so a torch
    without them reads as no (fp32: slower, never wrong)."""
    cpu = torch.cpu
    checks = (getattr(cpu, "_is_avx512_bf16_supported", None), getattr(cpu, "_is_amx_tile_supported", None))
    return any(check() for check in checks if check is not None)


class Bf16Forward:
    """Calls a module's forward under bf16 autocast and hands its outputs back in fp32, as the losses expect."""

    def __init__(self, module: torch.nn.Module, device: torch.device) -> None:
        self.module, self.device_type = module, device.type

    def __call__(self, **inputs: torch.Tensor) -> Any:
        from accelerate.utils import convert_to_fp32

        with torch.autocast(self.device_type, dtype=torch.bfloat16):
            outputs = self.module(**inputs)
        return convert_to_fp32(outputs)


def trains_in_bf16(training: TrainingConfig) -> bool:
    return training_precision(training) == "bf16"


def trainable_forward(module: torch.nn.Module, device: torch.device, training: TrainingConfig):
    """What a training step calls: the module itself, or its bf16 forward when the job trains in bf16."""
    return Bf16Forward(module, device) if trains_in_bf16(training) else module
