"""Text files that are not UTF-8 are detected and decoded right; bytes that must be replaced are counted."""

from __future__ import annotations

import codecs

import pytest

from tests.hostile import ACCENTED, accented_csv, expected_texts
from workbench.core.recipe import DataConfig
from workbench.core.sources.data import load_task_data, read_source
from workbench.core.sources.text_encoding import detect_encoding

SPLIT = {"train_size": 18, "dev_size": 9, "test_size": 9}


def all_texts(data) -> set[str]:
    return {text for split in data.splits.values() for text in split["text"]}


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-8-sig"])
def test_accented_rows_read_back_exactly(tmp_path, encoding):
    path = accented_csv(tmp_path / "reviews.csv", encoding)
    data = load_task_data(DataConfig(source=str(path), **SPLIT))
    assert all_texts(data) == expected_texts()
    assert data.cleaning.bytes_replaced_rows == 0


def test_latin1_is_read_as_the_western_code_page(tmp_path):
    """charset-normalizer alone would say cp1250 here, which turns ñ into ń."""
    path = accented_csv(tmp_path / "reviews.csv", "latin-1")
    assert detect_encoding(path) == "cp1252"
    _, origin = read_source(str(path), "text", "sentiment")
    assert origin.endswith("(decoded from cp1252)")


def test_cp1252_punctuation_survives(tmp_path):
    path = tmp_path / "quotes.csv"
    rows = ["sentiment,text"] + [f"{label},“Quoted” — {word} {i}" for i, (label, word) in
                                 enumerate([("positive", "café"), ("negative", "naïve"), ("neutral", "déjà")] * 6)]
    path.write_bytes(("\n".join(rows) + "\n").encode("cp1252"))
    raw, _ = read_source(str(path), "text", "sentiment")
    assert raw[0]["text"] == "“Quoted” — café 0"


def test_utf16_jsonl(tmp_path):
    path = tmp_path / "reviews.jsonl"
    lines = [f'{{"text": "{ACCENTED[i % 6]} {i}", "label": "{["a", "b"][i % 2]}"}}' for i in range(10)]
    path.write_bytes(codecs.BOM_UTF16_LE + "\n".join(lines).encode("utf-16-le"))
    raw, _ = read_source(str(path), "text", "label")
    assert raw[3]["text"] == f"{ACCENTED[3]} 3"


def test_utf8_with_damaged_bytes_keeps_its_accents_and_counts_the_damage(tmp_path):
    path = accented_csv(tmp_path / "reviews.csv", "utf-8")
    path.write_bytes(path.read_bytes() + b"negative,broken \xff\xfe bytes\nneutral,also \x81 broken\n")
    data = load_task_data(DataConfig(source=str(path), train_size=20, dev_size=9, test_size=9))
    assert expected_texts() <= all_texts(data)  # the accented rows are not mis-decoded as a code page
    assert data.cleaning.bytes_replaced_rows == 2
    assert "2 with undecodable bytes replaced" in data.cleaning.line()


def test_the_data_section_shows_replaced_rows(tmp_path):
    from workbench.core.recipe import BUNDLED_TEACHER, DataConfig
    from workbench.core.sources.data_preview import preview_data

    def preview(path):
        return preview_data(DataConfig(source=str(path), text_column="text", label_column="sentiment"), BUNDLED_TEACHER)

    path = accented_csv(tmp_path / "reviews.csv", "utf-8")
    path.write_bytes(path.read_bytes() + b"negative,broken \xff\xfe bytes\n")
    assert "1 with undecodable bytes replaced" in preview(path).cleaning
    latin = preview(accented_csv(tmp_path / "latin.csv", "latin-1"))
    assert latin.origin.endswith("(decoded from cp1252)") and latin.rows[0][1] == f"{ACCENTED[0]} 0"


def test_binary_data_is_still_refused(tmp_path):
    from workbench.core.errors import DataSourceError

    path = tmp_path / "image.csv"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(DataSourceError, match="holds binary data"):
        read_source(str(path), "text", "label")


def test_the_run_reports_replaced_rows_before_training(tiny_base_dir, tmp_path):
    from tests.tiny import tiny_recipe
    from workbench.core.events import Notice, StageStarted
    from workbench.core.job import run_job

    path = accented_csv(tmp_path / "reviews.csv", "utf-8", rows_per_class=40)
    path.write_bytes(path.read_bytes() + b"negative,broken \xff\xfe bytes\n")
    events = run_job(tiny_recipe(tiny_base_dir, path, tmp_path / "runs"))
    first = next(event for event in events if isinstance(event, Notice | StageStarted))
    events.close()
    assert isinstance(first, Notice) and "1 with undecodable bytes replaced" in first.message
