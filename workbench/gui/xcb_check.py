"""Before the window starts on Linux: are the system libraries that Qt's xcb platform plugin loads there?

Qt aborts with "Could not load the Qt platform plugin xcb" and a core dump when one is missing, which says
nothing about what to install. Probing each library with dlopen first lets the app print the one
`apt-get install` line instead. Qt-free: it runs before any QApplication exists.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping, Sequence

# The shared objects the xcb plugin of Qt 6 dlopens (beyond libxcb itself), by the Debian / Ubuntu package
# that ships each.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11-xcb.so.1": "libx11-xcb1",
}
MISSING_LIBRARIES_EXIT = 3


def loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def uses_xcb(argv: Sequence[str], environ: Mapping[str, str], platform: str | None = None) -> bool:
    """Whether Qt would start its xcb plugin: on Linux, unless `-platform` or QT_QPA_PLATFORM names another
    (offscreen, wayland, …) or the session is Wayland-only."""
    if not (platform or sys.platform).startswith("linux"):
        return False
    args = list(argv)
    chosen = args[args.index("-platform") + 1] if "-platform" in args[:-1] else environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(":")[0].split(";")[0] == "xcb"
    return bool(environ.get("DISPLAY")) or not environ.get("WAYLAND_DISPLAY")


def missing_packages(probe: Callable[[str], bool] | None = None) -> list[str]:
    probe = probe or loadable
    return [package for soname, package in XCB_LIBRARIES.items() if not probe(soname)]


def install_line(packages: Sequence[str]) -> str:
    return "sudo apt-get install -y " + " ".join(packages)


def check_xcb(argv: Sequence[str], environ: Mapping[str, str] | None = None,
              probe: Callable[[str], bool] | None = None) -> int | None:
    """None when the window can start; else prints what to install and returns the exit status to end with."""
    environ = os.environ if environ is None else environ
    if not uses_xcb(argv, environ):
        return None
    missing = missing_packages(probe)
    if not missing:
        return None
    print(f"The window needs system libraries that Qt's xcb platform loads; missing: {', '.join(missing)}.\n"
          f"Install them with:\n  {install_line(missing)}\n"
          "(or run headless: `workbench run RECIPE`, or QT_QPA_PLATFORM=offscreen)", file=sys.stderr)
    return MISSING_LIBRARIES_EXIT
