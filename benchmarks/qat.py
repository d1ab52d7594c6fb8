"""What quantization-aware distillation recovers on a finished run: int8 dev and test accuracy after
post-training quantization, then after a short QAT stage (compress/qat.py, the job's own stage function),
beside fp32.

The run's student is usually vocabulary-pruned, so it reads other token ids than its teacher: the teacher is
wrapped to map the student's ids back to its own (the kept tokens keep their strings). `--per-tensor` uses
one int8 scale per weight matrix, which loses more accuracy than the per-channel default and so shows what
QAT can win back.

    nice -n 19 .venv/bin/python benchmarks/qat.py RUN_DIR [--steps 60] [--per-tensor] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

from workbench.core.compress.qat import fake_quantized, int8_accuracy_drop, qat_stage
from workbench.core.distill.training_loop import StageRunner
from workbench.core.events import JobControl
from workbench.core.run_folder import RunFolder
from workbench.core.sources.batches import tokenize, train_loader
from workbench.core.sources.data import load_task_data
from workbench.core.sources.pruned_models import load_pruned
from workbench.core.sources.split_inputs import load_tokenizer_from, split_of


class TeacherOnStudentIds(nn.Module):
    """The teacher fed the student's token ids, translated through the token strings both vocabularies share."""

    def __init__(self, teacher: nn.Module, teacher_tokenizer, student_tokenizer) -> None:
        super().__init__()
        self.teacher = teacher
        own = teacher_tokenizer.get_vocab()
        by_id = sorted(student_tokenizer.get_vocab().items(), key=lambda item: item[1])
        self.register_buffer("ids", torch.tensor([own.get(token, own[teacher_tokenizer.unk_token])
                                                  for token, _ in by_id]))

    def forward(self, input_ids: torch.Tensor, **inputs):
        return self.teacher(input_ids=self.ids[input_ids], **inputs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--steps", type=int, default=60, help="QAT steps (batches of the recipe's size)")
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--per-tensor", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from accelerate import Accelerator

    run = RunFolder.open(args.run_dir)
    recipe = run.recipe()
    quantization = recipe.quantization.model_copy(update={
        "per_channel": not args.per_tensor, "max_accuracy_drop": 0.0, "qat_epochs": 1.0, "qat_lr": args.lr})
    data = load_task_data(recipe.data)
    dev, test = (split_of(data, name, recipe.data.max_length) for name in ("dev", "test"))
    student_tokenizer = load_tokenizer_from(run.path / "student")
    student = load_pruned(run.path / "student")
    teacher = TeacherOnStudentIds(load_pruned(run.path / "teacher"), load_tokenizer_from(run.path / "teacher"),
                                  student_tokenizer).eval().requires_grad_(False)

    def scores() -> dict[str, tuple[float, float]]:
        return {name: int8_accuracy_drop(student.eval(), student_tokenizer, split, quantization, args.threads)
                for name, split in (("dev", dev), ("test", test))}

    before = scores()
    loader = train_loader(tokenize(data.splits["train"], student_tokenizer, recipe.data.max_length),
                          student_tokenizer, recipe.training.batch_size, recipe.training.seed)
    stage = qat_stage(student, teacher, loader, quantization, recipe.distillation)
    stage.config = stage.config.model_copy(update={"max_steps": args.steps})
    runner = StageRunner(Accelerator(cpu=True), None, run.path, JobControl(), recipe.training, dict)
    started = time.perf_counter()
    with fake_quantized(student, quantization.per_channel):
        for _ in runner.run_stage(stage):
            pass
    seconds = time.perf_counter() - started
    after = scores()
    scheme = "per-tensor" if args.per_tensor else "per-channel"
    print(f"{args.run_dir}: {quantization.mode} int8, {scheme} weights; QAT {args.steps} steps at lr {args.lr} "
          f"({seconds:.0f} s), teacher soft labels")
    print(f"{'split':<6}{'fp32 before':>12}{'int8 before':>12}{'drop':>8}{'fp32 after':>12}{'int8 after':>12}"
          f"{'drop':>8}{'recovered':>11}")
    for name in ("dev", "test"):
        (fp32_0, int8_0), (fp32_1, int8_1) = before[name], after[name]
        print(f"{name:<6}{fp32_0:>12.4f}{int8_0:>12.4f}{fp32_0 - int8_0:>8.4f}{fp32_1:>12.4f}{int8_1:>12.4f}"
              f"{fp32_1 - int8_1:>8.4f}{int8_1 - int8_0:>+11.4f}")
    print("recovered: int8 accuracy after QAT minus int8 accuracy after post-training quantization alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
