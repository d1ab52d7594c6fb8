"""YAML as data: safe_load with anchors and aliases bounded, for recipes and every other YAML the workbench reads."""

from __future__ import annotations

from typing import Any

import yaml

from workbench.core.errors import RecipeError


def parse_yaml(text: str, origin: str) -> Any:
    """YAML through safe_load, with anchors and aliases bounded: a few hundred bytes of nested aliases
    (a "billion laughs") would otherwise expand into a structure that validation and error messages walk."""
    try:
        data = yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise RecipeError(f"{origin}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise RecipeError(f"{origin}: nested too deeply to be a recipe") from None
    return data


MAX_EXPANDED_NODES = 100_000  # every value a recipe can hold is a few hundred nodes


class _BoundedLoader(yaml.SafeLoader):
    """safe_load's loader, refusing documents whose aliases expand beyond MAX_EXPANDED_NODES or loop."""

    def compose_document(self) -> yaml.Node:
        node = super().compose_document()
        if _expanded_size(node, {}, set()) > MAX_EXPANDED_NODES:
            raise yaml.YAMLError(f"its anchors and aliases expand to more than {MAX_EXPANDED_NODES:,} values; "
                                 "write the recipe out without nested aliases")
        return node


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
