"""The window's start on Linux without Qt's xcb system libraries: one apt-get line and a non-zero exit,
not Qt's abort."""

from workbench.gui import app, xcb_check
from workbench.gui.xcb_check import MISSING_LIBRARIES_EXIT, XCB_LIBRARIES, uses_xcb


def test_missing_xcb_libraries_print_the_apt_line_and_exit_non_zero(monkeypatch, capsys):
    absent = {"libxcb-cursor.so.0", "libxcb-keysyms.so.1"}
    monkeypatch.setattr(xcb_check, "loadable", lambda soname: soname not in absent)
    monkeypatch.setattr(xcb_check.sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    created = []
    monkeypatch.setattr(app, "QApplication", lambda *a: created.append(a))

    status = app.main(["recipe.yaml"])

    assert status == MISSING_LIBRARIES_EXIT != 0
    assert created == []  # stopped before Qt could abort
    err = capsys.readouterr().err
    assert "sudo apt-get install -y libxcb-cursor0 libxcb-keysyms1\n" in err


def test_the_check_runs_only_where_qt_would_load_xcb():
    assert uses_xcb([], {"DISPLAY": ":0"}, "linux")
    assert uses_xcb([], {}, "linux")
    assert not uses_xcb([], {"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb([], {"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not uses_xcb(["-platform", "wayland"], {"DISPLAY": ":0"}, "linux")
    assert uses_xcb(["-platform", "xcb"], {"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb([], {"DISPLAY": ":0"}, "darwin")


def test_every_library_present_lets_the_window_start():
    assert xcb_check.check_xcb([], {"QT_QPA_PLATFORM": "xcb"}, probe=lambda soname: True) is None
    assert xcb_check.missing_packages(lambda soname: False) == list(XCB_LIBRARIES.values())
