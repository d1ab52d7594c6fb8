"""The architecture contracts in pyproject.toml (import-linter): the core is Qt-free, its rooms layered, and the
window enters it by one door."""

import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout


def import_cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Every import cycle among the graph's modules, once each, as the chain importer -> ... -> importer. The
    graph counts every import statement, those inside functions (lazy) and under TYPE_CHECKING too: a lazy
    import is still a two-way dependency, only hidden from Python's start-up."""
    cycles: dict[frozenset[str], tuple[str, ...]] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.setdefault(frozenset(back), (importer, *back))
    return list(cycles.values())


def test_the_workbench_has_no_import_cycles():
    cycles = import_cycles(grimp.build_graph("workbench", cache_dir=None))
    assert cycles == [], "import cycles (break each: move the shared piece down, or pass a callback):\n" + "\n".join(
        " -> ".join(cycle) for cycle in cycles)


def test_the_cycle_check_finds_a_cycle_through_a_lazy_import_and_a_longer_ring():
    graph = grimp.ImportGraph()
    for module in ("pkg.a", "pkg.b", "pkg.c", "pkg.d", "pkg.e"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")  # e.g. an import inside a function
    graph.add_import(importer="pkg.c", imported="pkg.d")
    graph.add_import(importer="pkg.d", imported="pkg.e")
    graph.add_import(importer="pkg.e", imported="pkg.c")
    assert sorted(map(sorted, import_cycles(graph))) == [["pkg.a", "pkg.a", "pkg.b"], ["pkg.c", "pkg.c", "pkg.d",
                                                                                        "pkg.e"]]


def test_lazy_imports_are_in_the_graph_the_cycle_check_reads():
    """The premise of the check above: grimp reads imports inside functions, not only at a module's top."""
    graph = grimp.build_graph("workbench", cache_dir=None)
    # workbench.cli imports the window only when `workbench gui` runs (inside a function)
    assert "workbench.gui.app" in graph.find_modules_directly_imported_by("workbench.cli")


def test_the_window_is_forbidden_every_core_module_but_its_four_doors():
    """The whole core package is forbidden, so a core module added later is too; only the door, the recipe,
    the events and the run folder are let through, by name."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    door = next(c for c in config["contracts"] if c["name"].startswith("The window enters the core by one door"))
    assert door["type"] == "forbidden" and door["source_modules"] == ["workbench.gui"]
    assert door["forbidden_modules"] == ["workbench.core"]
    doors = {"api", "recipe", "events", "run_folder"}
    assert set(door["ignore_imports"]) == {f"workbench.gui.** -> workbench.core.{name}" for name in doors}
