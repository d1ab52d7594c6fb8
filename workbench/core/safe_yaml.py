"""Recipe files as data: a bounded read of the file, then safe_load with anchors and aliases bounded; for
every recipe the workbench reads (command line, job, window, run lists)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from workbench.core.errors import RecipeError


def parse_yaml(text: str, origin: str) -> Any:
    """YAML through safe_load, with anchors and aliases bounded: a few hundred bytes of nested aliases
    (a "billion laughs") would otherwise expand into a structure that validation and error messages walk."""
    try:
        _check_expansion(yaml.compose(text, Loader=yaml.SafeLoader))  # the node graph, aliases still shared
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise RecipeError(f"{origin}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise RecipeError(f"{origin}: nested too deeply to be a recipe") from None
    return data


MAX_EXPANDED_NODES = 100_000  # every value a recipe can hold is a few hundred nodes


def _check_expansion(node: yaml.Node | None) -> None:
    """Refuse documents whose aliases expand beyond MAX_EXPANDED_NODES or loop, before anything builds them."""
    if node is not None and _expanded_size(node, {}, set()) > MAX_EXPANDED_NODES:
        raise yaml.YAMLError(f"its anchors and aliases expand to more than {MAX_EXPANDED_NODES:,} values; "
                             "write the recipe out without nested aliases")


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """Nodes in the document once every alias is replaced by a copy, counted once per shared node."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise yaml.YAMLError("an alias refers to the value that contains it (a loop)")
    open_nodes.add(key)
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    total = 1
    for child in children:
        total += _expanded_size(child, sizes, open_nodes)
        if total > MAX_EXPANDED_NODES:
            break  # already too large: stop before counting the rest
    open_nodes.discard(key)
    sizes[key] = total
    return total


MAX_RECIPE_BYTES = 1_000_000


def read_recipe_text(path: Path) -> str:
    """A recipe file's text, refused when it is not a small UTF-8 text file."""
    try:
        if path.is_dir():
            raise RecipeError(f"{path}: is a folder; give a recipe file (.yaml)")
        if path.stat().st_size > MAX_RECIPE_BYTES:
            raise RecipeError(f"{path}: {path.stat().st_size:,} bytes is too large for a recipe "
                              f"(at most {MAX_RECIPE_BYTES:,}); give a recipe file (.yaml)")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: is not UTF-8 text; save the recipe as UTF-8 YAML") from None
    except OSError as error:
        raise RecipeError(f"{path}: cannot read the recipe ({error.strerror or type(error).__name__})") from None
