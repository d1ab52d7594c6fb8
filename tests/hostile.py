"""Hostile fixtures: pickle payloads, models of unsupported families, damaged folders, bad encodings."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.tiny import save_tiny_bert, tiny_recipe
from tests.tiny_run import make_tiny_run

ACCENTED = ["Le café était délicieux", "Je déteste la crème brûlée", "El señor Müller está aquí",
            "Très bon hôtel à Zürich", "Garçon c'était naïve", "Ça coûte cher hélas"]


class Payload:
    """Unpickling this runs `touch MARKER`: the marker's existence proves that a loader executed the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def payload_bytes(marker: Path) -> bytes:
    return pickle.dumps({"state_dict": Payload(marker)})


def copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def pickle_only_model(source: Path, target: Path, marker: Path, name: str = "pytorch_model.bin") -> Path:
    """A model folder whose only weights are a pickle that plants the marker."""
    copy_model(source, target)
    for weights in target.glob("*.safetensors"):
        weights.unlink()
    (target / name).write_bytes(payload_bytes(marker))
    return target


def gpt2_folder(folder: Path) -> Path:
    """A tiny GPT-2 (a decoder, not an encoder family the workbench supports), saved as safetensors."""
    from transformers import GPT2Config, GPT2LMHeadModel

    folder.mkdir(parents=True, exist_ok=True)
    config = GPT2Config(vocab_size=100, n_positions=64, n_embd=32, n_layer=2, n_head=4)
    GPT2LMHeadModel(config).save_pretrained(folder)
    save_tiny_bert(folder / "tok")  # any tokenizer: the family check comes first
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        if (folder / "tok" / name).is_file():
            shutil.copy(folder / "tok" / name, folder / name)
    shutil.rmtree(folder / "tok")
    return folder


def accented_csv(path: Path, encoding: str, rows_per_class: int = 12) -> Path:
    """A labelled CSV in `encoding` whose every row has accented letters."""
    labels = ["negative", "neutral", "positive"]
    lines = ["sentiment,text"]
    for i in range(rows_per_class * 3):
        lines.append(f"{labels[i % 3]},{ACCENTED[i % len(ACCENTED)]} {i}")
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def expected_texts(rows_per_class: int = 12) -> set[str]:
    return {f"{ACCENTED[i % len(ACCENTED)]} {i}" for i in range(rows_per_class * 3)}


class World:
    """The files one case builds on: the tiny models and data, an earlier run, and helpers to spoil them."""

    def __init__(self, root: Path, teacher: Path, classifier: Path, csv: Path, made: Path | None = None) -> None:
        self.root, self.teacher, self.classifier, self.csv = root, teacher, classifier, csv
        self.made = made  # a finished tiny run and its deploy bundle, shared by the cases (make_deployed)
        self.runs = root / "runs"
        self.earlier = make_tiny_run(self.runs / "earlier-run", csv)

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def recipe(self, data: str | Path | None = None, teacher: str | Path | None = None, **sets) -> Path:
        """The tiny smoke recipe, changed by dotted `section__key=value` assignments, saved as YAML."""
        recipe = tiny_recipe(teacher or self.teacher, data or self.csv, self.runs)
        values = recipe.model_dump(mode="json")
        for dotted, value in sets.items():
            *sections, key = dotted.split("__")
            target = values
            for section in sections:
                target = target[section]
            target[key] = value
        import yaml

        return self.file("recipe.yaml", yaml.safe_dump(values))

    def model(self, name: str = "model") -> Path:
        return copy_model(self.teacher, self.root / name)

    def check(self, **recipe_args) -> list[str]:
        return ["check", str(self.recipe(**recipe_args))]


def edit_json(path: Path, **changes) -> Path:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))
    return path.parent


def rows(n: int, labels=("negative", "neutral", "positive")) -> str:
    return "".join(f"{labels[i % len(labels)]},some text number {i}\n" for i in range(n))


def truncated_weights(w: World) -> Path:
    folder = w.model()
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    return folder


def no_tokenizer(w: World) -> Path:
    folder = w.model()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)
    return folder


def symlink_loop(w: World, name: str) -> Path:
    link = w.root / name
    os.symlink(link, link)
    return link


def added_tokens(w: World) -> Path:
    from transformers import AutoTokenizer

    folder = w.model()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.add_tokens(["brandnewword"])
    tokenizer.save_pretrained(folder)
    return folder


def auto_map_model(w: World) -> Path:
    folder = w.model()
    (folder / "evil.py").write_text(f"open({str(w.root / 'MARKER')!r}, 'w')\n")
    return edit_json(folder / "config.json", auto_map={"AutoModel": "evil.EvilModel"})


def run_without_checkpoint(w: World) -> list[str]:
    """Resuming the earlier, finished run itself: refused, and its status and summary stay as they were."""
    return ["run", "--resume", str(w.earlier)]


def run_with_broken_recipe(w: World) -> list[str]:
    run = w.runs / "broken-run"
    shutil.copytree(w.earlier, run)
    (run / "recipe.yaml").write_text("data: [unclosed\n")
    return ["run", "--resume", str(run)]


def try_it(w: World, student: Callable[[World, Path], None], texts=("good day",)) -> None:
    from workbench.core.measure.inference import compare, run_predictors

    run = w.runs / "shared-run"
    shutil.copytree(w.earlier, run)
    student(w, run / "student")
    compare(run_predictors(run), list(texts), repeats=1)


def pickle_student(w: World, folder: Path) -> None:
    shutil.rmtree(folder)
    pickle_only_model(w.classifier, folder, w.root / "MARKER")


# -- entry points beyond check and run: export, bench, report, deploy and the bundle's predict.py --------------

def make_deployed(root: Path, csv: Path) -> Path:
    """ROOT/run, a finished tiny run with its int8 student, and ROOT/bundle, its deploy bundle (ONNX only)."""
    from tests.tiny_deploy import make_deployable_run
    from workbench.core.deploy.bundle import write_bundle
    from workbench.core.run_folder import RunFolder, write_json
    from workbench.core.sources.data import load_task_data

    run = RunFolder(make_deployable_run(root / "run", csv))
    write_json(run.data_manifest_path, load_task_data(run.recipe().data).manifest())
    write_json(run.evaluation_path, {"split": "test", "student": {"accuracy": 0.8, "macro_f1": 0.8}})
    write_bundle(run.path, root / "bundle")
    return root


def deployable(w: World, name: str = "run", **files: str) -> Path:
    """A copy of the finished tiny run, with `files` (name__ext=text) written over its own."""
    run = w.root / name
    shutil.copytree(w.made / "run", run)
    for file, text in files.items():
        (run / file.replace("__", ".")).write_text(text)
    return run


def deploy_to(w: World, out: Path | str, *flags: str) -> list[str]:
    return ["deploy", str(deployable(w)), "--out", str(out), *flags]


def bundle_with(w: World, *, labels: str | None = None, tokenizer: bytes | None = None) -> Path:
    """A copy of the deploy bundle, its labels.json or tokenizer.json replaced."""
    bundle = w.root / "bundle"
    shutil.copytree(w.made / "bundle", bundle)
    if labels is not None:
        (bundle / "labels.json").write_text(labels)
    if tokenizer is not None:
        (bundle / "tokenizer.json").write_bytes(tokenizer)
    return bundle


def predict(*args: str, stdin: bytes = b"", file: bytes | None = None,
            **bundle) -> Callable[[World], tuple[list[str], bytes]]:
    """The bundle's predict.py run as its receiver runs it (in its own process), with `args` and `stdin`;
    `{root}` in an argument is the case's folder, which holds `file` as texts.txt."""
    def command(w: World) -> tuple[list[str], bytes]:
        folder = bundle_with(w, **bundle)
        if file is not None:
            w.file("texts.txt", file)
        return [str(folder / "predict.py"), *(a.format(root=w.root) for a in args)], stdin
    return command


def foreign_file_in_the_way(w: World) -> list[str]:
    """An earlier bundle (ONNX only), then the receiver's own model.ort beside it: an ORT deploy must not
    write over it."""
    out = bundle_with(w)
    (out / "model.ort").write_text("the receiver's own file")
    return deploy_to(w, out, "--format", "ort")
