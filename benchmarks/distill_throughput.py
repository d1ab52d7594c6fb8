"""Stage-1 (intermediate-layer) distillation throughput: the workbench's loop against a straightforward one,
lever by lever.

The straightforward loop is what one writes first: both models with the eager attention implementation,
`output_attentions=True` and `output_hidden_states=True` on every step, texts padded to max_length, the
teacher run on every step, AdamW's per-tensor loop. The workbench's levers, added one at a time:
  1. pre-softmax scores of the mapped layers only (hooks on the query/key projections, the fast attention
     kernel stays on), the student's batches padded to their own longest text, batches of similar length
     (the teacher always reads max_length: its targets then do not depend on the batch, see
     distillation.TeacherStudentLoss);
  2. the fused AdamW kernel (one call over every parameter, the large embedding table included);
  3. the frozen teacher's targets for the whole training set in one pass before the first step (large
     batches), so no training step runs the teacher;
  4. bf16 autocast around the student's forward: what `training.precision: auto` (the default) does where the
     CPU has native bf16 (AVX512-BF16 or AMX).
torch.compile of the student is measured too (`--compile`); on CPU it was slower, so the job does not use it.

Same student, teacher, batch size, examples and epochs for every variant; each variant's time includes its
teacher pass; the variants run interleaved, `--rounds` times, and the medians and ratios are printed.

    .venv/bin/python benchmarks/distill_throughput.py [--examples 480] [--epochs 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import torch
import torch.nn.functional as F
from transformers import AutoModelForSequenceClassification

from workbench.core.distill.distillation import StudentWithProjections, intermediate_losses
from workbench.core.distill.mapping import layer_mapping
from workbench.core.distill.precision import native_cpu_bf16
from workbench.core.distill.teacher_cache import TeacherCache
from workbench.core.distill.training_loop import make_optimizer
from workbench.core.quiet import quiet_libraries
from workbench.core.recipe import Recipe
from workbench.core.sources.batches import one_pass_loader, tokenize, train_loader
from workbench.core.sources.data import load_task_data
from workbench.core.sources.models import load_tokenizer, resolve_model_source
from workbench.core.sources.resources import preset_path
from workbench.core.sources.student import build_student


def models(recipe: Recipe, labels: list[str], attention: str):
    folder = resolve_model_source(recipe.teacher.source).folder
    torch.manual_seed(0)
    teacher = AutoModelForSequenceClassification.from_pretrained(
        folder, num_labels=len(labels), attn_implementation=attention).eval().requires_grad_(False)
    student = build_student(recipe.student, teacher, labels)
    student.set_attn_implementation(attention)
    return teacher, StudentWithProjections(student, teacher.config.hidden_size)


def workbench_loop(recipe, data, tokenizer, epochs: int, fused: bool, one_pass: bool, bf16: bool = False,
                   compiled: bool = False) -> float:
    teacher, student = models(recipe, data.label_names, "sdpa")
    mapping = layer_mapping(recipe.mapping.mode, student.student.config.num_hidden_layers,
                            teacher.config.num_hidden_layers)
    cache = TeacherCache(2**33) if one_pass else None
    losses = intermediate_losses(teacher, student, mapping, recipe.distillation.weights, True, True, cache,
                                 teacher_length=recipe.data.max_length)
    loader = train_loader(tokenize(data.splits["train"], tokenizer, recipe.data.max_length), tokenizer,
                          recipe.training.batch_size, 0)
    optimizer = (make_optimizer(student, 1e-4, 0.01) if fused else
                 torch.optim.AdamW(student.parameters(), lr=1e-4, foreach=False))
    if compiled:
        student.student = torch.compile(student.student, dynamic=True)
    precision = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)

    def loss(batch):
        with precision:
            return sum(losses(student, batch).values())

    def teacher_pass():
        with precision:
            losses.prepare(lambda: one_pass_loader(loader.dataset, loader.collate_fn), lambda: None)

    return timed_epochs(loader, epochs, loss, optimizer, teacher_pass)


def straightforward_loop(recipe, data, tokenizer, epochs: int) -> float:
    teacher, student = models(recipe, data.label_names, "eager")
    pairs = layer_mapping(recipe.mapping.mode, student.student.config.num_hidden_layers,
                          teacher.config.num_hidden_layers).pairs
    encoded = tokenizer(list(data.splits["train"]["text"]), truncation=True, max_length=recipe.data.max_length,
                        padding="max_length", return_tensors="pt")
    batch_size = recipe.training.batch_size
    loader = [{k: v[i:i + batch_size] for k, v in encoded.items()} for i in range(0, len(encoded["input_ids"]),
                                                                                   batch_size)]
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-4)

    def loss(batch):
        with torch.no_grad():
            t = teacher(**batch, output_attentions=True, output_hidden_states=True)
        s = student.student(**batch, output_attentions=True, output_hidden_states=True)
        projections = student.projections
        total = F.mse_loss(projections.embedding(s.hidden_states[0]), t.hidden_states[0])
        for m, n in pairs:
            total = total + F.mse_loss(projections.hidden(s.hidden_states[m]), t.hidden_states[n])
            total = total + F.mse_loss(s.attentions[m - 1], t.attentions[n - 1])
        return total

    return timed_epochs(loader, epochs, loss, optimizer)


def timed_epochs(loader, epochs: int, loss_of, optimizer, before=lambda: None) -> float:
    examples, started = 0, time.perf_counter()
    before()
    for _ in range(epochs):
        for batch in loader:
            loss = loss_of(batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            examples += len(batch["input_ids"])
    return examples / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default=str(preset_path("quick-demo")))
    parser.add_argument("--examples", type=int, default=480)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile of the student")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with quiet_libraries():  # the new classifier head's load report is expected
        measure(args)


def measure(args: argparse.Namespace) -> None:
    recipe = Recipe.load(args.recipe)
    recipe.data.train_size, recipe.data.dev_size, recipe.data.test_size = args.examples, 32, 32
    data = load_task_data(recipe.data)
    tokenizer = load_tokenizer(resolve_model_source(recipe.teacher.source))
    auto = " here: precision auto" if native_cpu_bf16() else ""
    variants = {
        "straightforward (eager, output_attentions, pad to max_length)":
            lambda: straightforward_loop(recipe, data, tokenizer, args.epochs),
        "1. score hooks, sdpa, dynamic padding": lambda: workbench_loop(recipe, data, tokenizer, args.epochs,
                                                                        False, False),
        "2. + fused AdamW": lambda: workbench_loop(recipe, data, tokenizer, args.epochs, True, False),
        "3. + teacher targets in one pass (the job in fp32)": lambda: workbench_loop(
            recipe, data, tokenizer, args.epochs, True, True),
        f"4. + bf16 autocast (the job{auto}; training.precision: bf16)": lambda: workbench_loop(
            recipe, data, tokenizer, args.epochs, True, True, bf16=True),
    }
    if args.compile:
        variants["3 + torch.compile (dynamic shapes, compile time included)"] = lambda: workbench_loop(
            recipe, data, tokenizer, args.epochs, True, True, compiled=True)
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            results[name].append(run())
    baseline = statistics.median(next(iter(results.values())))
    print(f"stage-1 distillation, {args.examples} examples x {args.epochs} epochs, batch "
          f"{recipe.training.batch_size}, max_length {recipe.data.max_length}, {args.threads} threads, "
          f"student {recipe.student.preset}, {args.rounds} interleaved rounds (median)")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:<62} {median:7.1f} examples/s   x{median / baseline:.2f}")
    names = list(results)
    print("each lever's share (throughput ratio against the line before):")
    for before, after in itertools.pairwise(names):
        ratio = statistics.median(results[after]) / statistics.median(results[before])
        print(f"  {after:<62} x{ratio:.2f}")


if __name__ == "__main__":
    main()
