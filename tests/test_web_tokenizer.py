"""The web demo's tokenizer (tokenizers.js through resources/web/encode.mjs, run by Node) gives the ids that
Python's `tokenizers` gives for the same tokenizer.json, truncation at max_length included, for every family
the workbench supports: the bundled teacher's real WordPiece on the bundled tweets' test split, and tiny
WordPiece, byte-level BPE (RoBERTa, ModernBERT) and SentencePiece-Unigram (XLM-R, CamemBERT, DeBERTa-v3)
tokenizers built offline, each on the same tweets."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.tiny_families import CASES, corpus, family_tokenizer
from workbench.core.deploy.bundle import write_tokenizer
from workbench.core.deploy.web_assets import RUNTIME_FILES, assets_dir

NODE = shutil.which("node")
SCRIPT = Path(__file__).parent / "web" / "tokenize.mjs"
pytestmark = pytest.mark.skipif(
    NODE is None or not (assets_dir() / RUNTIME_FILES["tokenizers"]).is_file(),
    reason="needs node and the web demo's JavaScript: run `make web-assets`")


@pytest.fixture(scope="module")
def tweets() -> list[str]:
    """The test split of the bundled tweets, as a job with the smoke preset's data section splits it."""
    from workbench.core.recipe import Recipe
    from workbench.core.sources.data import load_task_data
    from workbench.core.sources.resources import preset_path
    from workbench.core.sources.split_inputs import split_of

    data = Recipe.load(preset_path("smoke")).data
    data.test_size = 400
    return split_of(load_task_data(data), "test", data.max_length).texts


def node_ids(tokenizer_json: Path, texts: list[str]) -> list[list[int]]:
    done = subprocess.run([NODE, str(SCRIPT), str(assets_dir() / RUNTIME_FILES["tokenizers"]),
                           str(assets_dir() / RUNTIME_FILES["encode"]), str(tokenizer_json)],
                          input=json.dumps(texts), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def python_ids(tokenizer_json: Path, texts: list[str]) -> list[list[int]]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_json))
    return [tokenizer.encode(text).ids for text in texts]


def assert_same_ids(tokenizer_json: Path, texts: list[str], max_length: int) -> None:
    expected = python_ids(tokenizer_json, texts)
    assert sum(len(ids) == max_length for ids in expected) >= 10  # truncation is exercised, not only short texts
    actual = node_ids(tokenizer_json, texts)
    differing = [(text, want, got) for text, want, got in zip(texts, expected, actual, strict=True) if want != got]
    assert not differing, f"{len(differing)} of {len(texts)} texts differ; first: {differing[0]}"


def test_the_bundled_teachers_wordpiece_on_the_tweets_test_split(tweets, tmp_path):
    from workbench.core.sources.resources import bundled_teacher_dir

    write_tokenizer(bundled_teacher_dir(), 32, tmp_path / "tokenizer.json")
    assert_same_ids(tmp_path / "tokenizer.json", tweets, 32)


def sentencepiece_family_tokenizer(family: str, folder: Path) -> None:
    """An XLM-R, CamemBERT or DeBERTa-v3 tokenizer made by the family's own transformers class from a tiny
    Unigram vocabulary trained offline, as transformers makes the real ones: the same pre-tokenizers, model,
    post-processor and decoder. Only a real SentencePiece model's precompiled normalization map is missing
    (none is on this machine; tests/tiny_families.py's stand-in, the Nmt normalizer, is one tokenizers.js
    lacks, which the deploy refuses: see test_web_demo.py)."""
    import transformers

    trained = json.loads(family_tokenizer(CASES[family], folder).backend_tokenizer.to_str())["model"]["vocab"]
    kind = {"xlm-roberta": transformers.XLMRobertaTokenizer, "camembert": transformers.CamembertTokenizer,
            "deberta-v2": transformers.DebertaV2Tokenizer}[family]
    specials = {f"{role}_token": CASES[family].specials[role] for role in ("cls", "sep", "pad", "unk", "mask")}
    kind(vocab=[(piece, score) for piece, score in trained], **specials).save_pretrained(folder)


@pytest.mark.parametrize("family", sorted(CASES))
def test_every_familys_tokenizer_kind_built_offline(family, tweets, tmp_path):
    """Tiny vocabularies meet real tweets: unknown pieces, byte-level pieces, emoji and accents all show up."""
    if CASES[family].tokenizer == "unigram":
        sentencepiece_family_tokenizer(family, tmp_path / family)
    else:
        family_tokenizer(CASES[family], tmp_path / family)
    write_tokenizer(tmp_path / family, 16, tmp_path / "tokenizer.json")
    assert_same_ids(tmp_path / "tokenizer.json", corpus() + tweets, 16)
