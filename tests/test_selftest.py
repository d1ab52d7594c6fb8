"""The installation self-test (`workbench-gui --selftest`, `tinybert-workbench --selftest`)."""

from __future__ import annotations

import io

from workbench import selftest
from workbench.gui import app
from workbench.gui.icon import app_icon


def test_every_check_passes_in_this_installation(qapp):
    out = io.StringIO()
    assert selftest.run_checks(selftest.CHECKS, out), out.getvalue()
    lines = out.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [f"ok  {name}" for name, _ in selftest.CHECKS]
    assert {"imports", "torch forward", "onnx export and onnxruntime", "main window"} <= dict(selftest.CHECKS).keys()


def test_a_failed_check_is_reported_and_the_others_still_run():
    def broken() -> None:
        raise ModuleNotFoundError("No module named 'transformers.models.bert'")

    out = io.StringIO()
    assert not selftest.run_checks([("imports", broken), ("fine", lambda: None)], out)
    first = out.getvalue().splitlines()[0]
    assert first == "FAIL imports: ModuleNotFoundError: No module named 'transformers.models.bert'"
    assert out.getvalue().splitlines()[1].startswith("ok  fine (")


def test_exit_status_is_non_zero_on_a_failure(monkeypatch, capsys):
    monkeypatch.setattr(selftest, "CHECKS", (("always fails", lambda: 1 / 0),))
    assert selftest.main() == 1
    assert "FAIL always fails: ZeroDivisionError" in capsys.readouterr().out
    monkeypatch.setattr(selftest, "CHECKS", (("passes", lambda: None),))
    assert selftest.main() == 0


def test_the_gui_entry_point_runs_the_selftest_instead_of_the_window(monkeypatch):
    def no_window(*args, **kwargs):
        raise AssertionError("--selftest opened the window")

    monkeypatch.setattr(app, "MainWindow", no_window)
    monkeypatch.setattr(selftest, "main", lambda: 7)
    assert app.main(["--selftest"]) == 7


def test_the_window_gets_the_application_icon(qapp):
    sizes = {size.width() for size in app_icon().availableSizes()}
    assert {16, 32, 48, 256, 512} <= sizes
