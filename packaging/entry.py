"""The packaged app's single entry point: one binary serves the window, the command line and the self-test.

    tinybert-workbench                    the window on the quick-demo preset
    tinybert-workbench RECIPE.yaml        the window on a recipe
    tinybert-workbench --selftest         check the installation, one line per check
    tinybert-workbench run RECIPE ...     any `workbench` subcommand (run, check, export, bench, report, ...)
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence


def cli_commands() -> set[str]:
    """The `workbench` subcommand names, read from its parser so that a new subcommand needs no edit here."""
    import argparse

    from workbench.cli import build_parser

    return {name for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices}


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] in cli_commands():
        from workbench.cli import main as cli_main

        return cli_main(argv)
    if list(argv) == ["--selftest"]:
        # Straight to the checks, not through the window's module: a broken GUI import becomes one FAIL line.
        from workbench.selftest import main as selftest

        return selftest()
    from workbench.gui.app import main as gui_main

    return gui_main(argv)


if __name__ == "__main__":
    # A frozen app that starts worker processes (datasets, torch data loaders) must not re-run main in them.
    multiprocessing.freeze_support()
    sys.exit(main(sys.argv[1:]))
