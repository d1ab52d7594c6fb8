import subprocess
import sys

from workbench.cli import main
from workbench.core.sources.resources import preset_path


def test_info_prints_the_shape(tiny_classifier_dir, capsys):
    assert main(["info", str(tiny_classifier_dir)]) == 0
    out = capsys.readouterr().out
    assert "layers         2" in out and "heads          4" in out
    assert "yes, 3 labels: negative, neutral, positive" in out


def test_data_prints_classes_with_counts(tiny_csv, tiny_classifier_dir, capsys):
    assert main(["data", str(tiny_csv), "--tokenizer", str(tiny_classifier_dir)]) == 0
    out = capsys.readouterr().out
    import re

    for name in ("negative", "neutral", "positive"):
        assert re.search(rf"^  {name} +40 +33.3%$", out, re.MULTILINE)
    assert "tokens/text    p50" in out


def test_errors_are_one_line_without_traceback(tmp_path, capsys):
    assert main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path}: holds no model") and "Traceback" not in err


def test_check_validates_a_preset(capsys):
    assert main(["check", str(preset_path("smoke"))]) == 0
    assert "valid recipe 'smoke'" in capsys.readouterr().out


def test_console_script_on_the_bundled_teacher():
    """The acceptance command itself, in a fresh process, on the real bundled teacher."""
    done = subprocess.run([sys.executable, "-m", "workbench.cli", "info", "bundled:all-MiniLM-L6-v2"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "layers         6" in done.stdout and "hidden size    384" in done.stdout
    assert "heads          12" in done.stdout and "(22.7M)" in done.stdout


def test_data_on_the_bundled_tweets():
    done = subprocess.run([sys.executable, "-m", "workbench.cli", "data", "bundled:tweets"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    for line in ("negative    15,978", "neutral     14,454", "positive     6,811"):
        assert line in done.stdout
