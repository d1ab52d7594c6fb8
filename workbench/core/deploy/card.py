"""model-card.md: what the bundled model is, for the person who receives it. Everything in it is read from
the run folder's own files (recipe, data manifest, evaluation, export and parity records, benchmark) or was
measured on the bundle itself while it was written; what a run did not record is said to be missing."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from workbench.core.deploy.self_check import BundleCheck
from workbench.core.methods.html import size_text
from workbench.core.methods.registry import distillation_sentences, pruning_sentence
from workbench.core.report.headline import latency_shape, median_ms
from workbench.core.run_folder import RunFolder, read_json

TEACHER_BENCH, STUDENT_BENCH = "teacher-torch-fp32", {"int8": "student-onnx-int8", "fp32": "student-onnx-fused-fp32"}
FILES = {
    "model.onnx": "the model (ONNX)",
    "model.ort": "the same model in ORT format, for ONNX Runtime mobile / reduced builds",
    "model.required_operators.config": "operators a reduced ONNX Runtime build needs (`--include_ops_by_config`)",
    "tokenizer.json": "the tokenizer (Hugging Face tokenizers format), truncation and padding included",
    "labels.json": "label names, in the order of the model's output columns",
    "predict.py": "a runner: texts in, labels and probabilities out",
    "requirements.txt": "what predict.py needs, pinned",
}


@dataclass
class CardFacts:
    model: str  # "int8" | "fp32"
    artifact: str  # the run's ONNX file shipped as model.onnx
    sizes: dict[str, int]  # bundle file -> bytes
    requirements: dict[str, str]  # package -> version
    check: BundleCheck


def model_card(run: RunFolder, facts: CardFacts) -> str:
    recipe = run.recipe()
    files = {"recipe": recipe, "data": read_json(run.data_manifest_path), "evaluation": read_json(run.evaluation_path),
             "export": read_json(run.export_path), "parity": read_json(run.parity_path),
             "bench": read_json(run.bench_path), "student": read_json(run.student_dir / "config.json")}
    sections = [_summary(run, facts, files), _use(facts, files), _files(facts), _origin(run, facts, files),
                _data(files), _accuracy(facts, files), _speed(facts, files), _limits(facts, files),
                f"## Recipe\n\nThe run's recipe as it ran, every default filled in:\n\n```yaml\n{recipe.to_yaml()}```",
                f"_Written by TinyBERT Workbench from run folder `{run.path.name}` on "
                f"{time.strftime('%Y-%m-%d %H:%M %Z')}._"]
    return "\n\n".join(sections) + "\n"


def _summary(run: RunFolder, facts: CardFacts, files: dict[str, Any]) -> str:
    recipe, labels = files["recipe"], _labels(files)
    kind = "an int8" if facts.model == "int8" else "a fp32"
    test = facts.check
    lines = [f"# {recipe.name}: a {len(labels)}-label text classifier ({' / '.join(labels)})", "",
             f"A {_shape(files['student'])} student distilled the TinyBERT way from the teacher "
             f"`{recipe.teacher.source}`, shipped as {kind} ONNX model that runs with ONNX Runtime alone: no "
             "PyTorch, no transformers, no workbench.", "",
             "| | |", "|---|---|",
             f"| Model file | `model.onnx`, {_size(facts.sizes['model.onnx'])} |",
             f"| Test accuracy | {test.accuracy:.1%} on {test.examples} held-out examples"
             f"{_kept(test.accuracy, files['evaluation'])} |",
             f"| Latency | {test.batch1_median_ms:.1f} ms a text (median, one text at a time, {test.threads} thread) |",
             f"| Needs | {', '.join(f'{n} {v}' for n, v in facts.requirements.items())} |"]
    return "\n".join(lines)


def _use(facts: CardFacts, files: dict[str, Any]) -> str:
    examples = [f"| {_short(s.text)} | {s.label} | {s.predicted} ({s.probability:.0%}) |" for s in facts.check.samples]
    return "\n".join([
        "## Use it", "", "```sh", "pip install -r requirements.txt", 'python predict.py "I really enjoyed this"', "```",
        "", "prints the label, its probability, every label's probability and the text, one line a text "
        "(tab-separated). `--file texts.txt` reads one text a line and standard input works too; `--json` prints one "
        "JSON object a line with the probabilities and raw logits"
        + ("; `--model model.ort` runs the ORT-format file" if "model.ort" in facts.sizes else "")
        + ". From Python, `from predict import Classifier; Classifier().predict([\"some text\"])` gives a "
        "(label, probabilities) pair per text.", "",
        f"**Inputs.** Texts are cut to {files['recipe'].data.max_length} tokens and padded on the right to the "
        "longest text of a batch, as in training; `tokenizer.json` carries both settings, so an app that loads it "
        "with the tokenizers library (Python, Rust, Node) or any Hugging Face tokenizer runtime gets the same ids. "
        "The graph takes int64 `input_ids`, `attention_mask` (and `token_type_ids` where it declares it), shaped "
        "batch × sequence, and returns `logits`, batch × labels, in the order of `labels.json`; softmax gives the "
        "probabilities.", "", "The first test texts, as this bundle labels them:", "",
        "| text | label in the data | predict.py says |", "|---|---|---|", *examples])


def _files(facts: CardFacts) -> str:
    rows = [f"| `{name}` | {FILES.get(name, '')} | {_size(size)} |" for name, size in facts.sizes.items()]
    rows.append("| `model-card.md` | this card | |")
    return "\n".join(["## Files", "", "| file | what | size |", "|---|---|---|", *rows])


def _origin(run: RunFolder, facts: CardFacts, files: dict[str, Any]) -> str:
    recipe, export, distillation = files["recipe"], files["export"], files["recipe"].distillation
    teacher = ("fine-tuned on the training split in this run first" if run.teacher_dir.is_dir()
               else "used as it came: its head already had these labels")
    stages = [f"intermediate layers ({_epochs(distillation.intermediate)}; embedding, attention and hidden-state "
              f"losses, {recipe.mapping.mode} layer mapping)",
              f"prediction layer ({_epochs(distillation.prediction)}; soft cross-entropy at temperature "
              f"{distillation.temperature:g}{', plus hard labels' if distillation.weights.hard_label else ''})"]
    if distillation.general.enabled:
        stages.insert(0, f"general distillation on `{distillation.general.source}` ({_epochs(distillation.general)})")
    lines = ["## How it was made", "",
             f"- **Teacher:** `{recipe.teacher.source}`, {teacher}.",
             f"- **Student:** {_shape(files['student'])}, initialised {_init(recipe.student)}.",
             f"- **Distillation (TinyBERT, Jiao et al. 2020):** {'; then '.join(stages)}."
             + (f" Training data augmented with {distillation.augmentation.copies} word-replaced copies per "
                "example, labelled by the teacher." if distillation.augmentation.enabled else "")
             + "".join(f" Trained on {sentence}." for sentence in distillation_sentences(distillation, run)),
             f"- **Pruning:** {pruning_sentence(recipe.pruning, run)}.",
             f"- **Quantization:** {export.get('quantization', 'not recorded')}; `{facts.artifact}` of the run, "
             f"ONNX opset {export.get('opset', '?')}, attention fused by ONNX Runtime's transformer optimizer"
             f"{'' if (export.get('fusion') or {}).get('fused') else ' (not fused)'}.",
             f"- **Checked:** {_parity(files['parity'], facts.artifact)}"]
    return "\n".join(lines)


def _data(files: dict[str, Any]) -> str:
    recipe, data = files["recipe"], files["data"]
    if not data:
        return "## Data\n\nThe run recorded no data manifest (data.json)."
    cleaning, sizes, counts = data.get("cleaning") or {}, data.get("sizes") or {}, data.get("class_counts") or {}
    labels = _labels(files)
    rows = [f"| {split} | {sizes.get(split, '?')} | "
            + " | ".join(str(counts.get(split, {}).get(n, "?")) for n in labels) + " |"
            for split in ("train", "dev", "test")]
    return "\n".join([
        "## Data", "",
        f"`{recipe.data.source}` (text column `{recipe.data.text_column}`, label column `{recipe.data.label_column}`): "
        f"{cleaning.get('rows_read', '?'):,} rows read, {cleaning.get('rows_kept', '?'):,} kept after dropping "
        f"{cleaning.get('empty_dropped', 0)} empty and {cleaning.get('duplicates_dropped', 0)} duplicate texts. "
        f"Split with seed {recipe.data.seed}, stratified by label; content hash "
        f"`{str(data.get('content_hash'))[:16]}…`.",
        "", "| split | rows | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels), *rows])


def _accuracy(facts: CardFacts, files: dict[str, Any]) -> str:
    evaluation, check = files["evaluation"], facts.check
    rows = [(name, evaluation.get(key)) for name, key in (("teacher (PyTorch)", "teacher"),
                                                          ("student (PyTorch fp32)", "student"),
                                                          ("student int8 ONNX", "student_int8"))]
    table = [f"| {name} | {m['accuracy']:.1%} | {m['macro_f1']:.3f} |" for name, m in rows if m]
    table.append(f"| **this bundle** (predict.py's code) | **{check.accuracy:.1%}** | |")
    agreement = evaluation.get("teacher_student_agreement")
    return "\n".join([
        "## Accuracy", "", f"On the test split ({check.examples} examples the model never trained or was selected on):",
        "", "| model | accuracy | macro-F1 |", "|---|---|---|", *table, "",
        (f"The student agrees with its teacher on {agreement:.1%} of the test texts. " if agreement is not None else "")
        + f"With {check.examples} examples a measured accuracy is uncertain by about "
        f"±{_interval(check.accuracy, check.examples):.1%} (95% interval)."])


def _speed(facts: CardFacts, files: dict[str, Any]) -> str:
    check = facts.check
    lines = ["## Speed and size", "",
             f"- Measured when this folder was written, with predict.py's code: median {check.batch1_median_ms:.2f} ms "
             f"a text over {check.timed_texts} test texts, one text at a time, {check.threads} thread, on "
             f"{check.machine}. `model.onnx` is {_size(facts.sizes['model.onnx'])}."]
    bench = files["bench"]
    student = STUDENT_BENCH[facts.model]
    shape = latency_shape(bench, files["recipe"].data.max_length) if bench.get("models") else None
    if shape and TEACHER_BENCH in bench["models"] and student in bench["models"]:
        teacher_model, student_model = bench["models"][TEACHER_BENCH], bench["models"][student]
        teacher_ms, student_ms = median_ms(teacher_model, shape), median_ms(student_model, shape)
        lines.append(f"- The run's benchmark (bench.json), batch {shape[0]}, {shape[1]} tokens, {bench.get('threads')} "
                     f"threads: this model {student_ms:.2f} ms and {size_text(student_model['size_bytes'])}, the "
                     f"teacher in PyTorch {teacher_ms:.2f} ms and {size_text(teacher_model['size_bytes'])}: "
                     f"{teacher_ms / student_ms:.1f}× faster, "
                     f"{teacher_model['size_bytes'] / student_model['size_bytes']:.1f}× smaller.")
    else:
        lines.append("- The run has no benchmark beside its teacher yet: `workbench bench RUN_DIR` measures both "
                     "side by side; deploy again afterwards to have it here.")
    return "\n".join(lines)


def _limits(facts: CardFacts, files: dict[str, Any]) -> str:
    recipe = files["recipe"]
    return "\n".join([
        "## Limitations", "",
        f"- It knows only the labels {', '.join(_labels(files))} and was trained on `{recipe.data.source}`: "
        "expect lower accuracy on text unlike that data (other domains, languages, lengths).",
        f"- Only the first {recipe.data.max_length} tokens of a text count.",
        "- int8 weights cost a little accuracy against the fp32 student; the check above bounds it on the dev split."
        if facts.model == "int8" else "- fp32: larger and slower than the int8 model, without its rounding."])


def _labels(files: dict[str, Any]) -> list[str]:
    config = files["student"]
    id2label = config.get("id2label") or {}
    return [str(id2label[key]) for key in sorted(id2label, key=int)] or list(files["data"].get("label_names") or [])


def _shape(config: dict[str, Any]) -> str:
    layers = config.get("num_hidden_layers", config.get("n_layers", "?"))
    hidden = config.get("hidden_size", config.get("dim", "?"))
    heads = (config.get("workbench_pruning") or {}).get("attention_heads",
                                                         config.get("num_attention_heads", config.get("n_heads", "?")))
    ffn = config.get("intermediate_size", config.get("hidden_dim", "?"))
    return f"{layers}-layer (hidden {hidden}, {heads} heads, FFN {ffn})"


def _init(student) -> str:
    if student.init == "teacher":
        layers = f"layers {', '.join(map(str, student.teacher_layers))}" if student.teacher_layers else "its layers"
        return f"from the teacher's {layers}"
    return f"from `{student.pretrained}`" if student.init == "pretrained" else "at random"


def _epochs(stage) -> str:
    return f"{stage.epochs:g} epoch{'' if stage.epochs == 1 else 's'}, lr {stage.lr:g}"


def _parity(parity: dict[str, Any], artifact: str) -> str:
    result = next((r for r in parity.get("results") or [] if r.get("artifact") == artifact), None)
    if not result:
        return "no parity check against PyTorch was recorded for this file."
    return (f"{result.get('verdict', 'checked')}: outputs compared with the PyTorch student on {result['examples']} "
            f"dev examples: label agreement {result['agreement']:.1%} over the examples with a clear margin (at "
            f"least {result['min_agreement']:.0%} required), {result.get('near_tie_flips', 0)} of "
            f"{result.get('near_ties', 0)} near-ties flipped; largest logit difference {result['max_logit_delta']:.3g}"
            + ("" if result.get("accuracy_difference") is None else
               f"; dev accuracy {100 * result['accuracy_difference']:+.1f} points (95 % CI "
               f"{100 * result['ci_low']:+.1f}..{100 * result['ci_high']:+.1f})") + ".")


def _kept(accuracy: float, evaluation: dict[str, Any]) -> str:
    teacher = (evaluation.get("teacher") or {}).get("accuracy")
    return f"; the teacher has {teacher:.1%}, so it keeps {accuracy / teacher:.1%} of that" if teacher else ""


def _size(size: int) -> str:
    return f"{size} bytes" if size < 2**10 else size_text(size)


def _interval(accuracy: float, examples: int) -> float:
    return 1.96 * math.sqrt(max(accuracy * (1 - accuracy), 1e-12) / max(examples, 1))


def _short(text: str, limit: int = 70) -> str:
    """One line that cannot break a Markdown table."""
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[:limit - 1] + "…"
