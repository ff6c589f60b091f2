"""Searching a rendered Dash component tree in tests: components, text, ids, links."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dash.development.base_component import Component


def walk(node: object) -> Iterator[Component]:
    """Every component below ``node`` (itself included), depth first through ``children``."""
    if isinstance(node, Component):
        yield node
        yield from walk(getattr(node, "children", None))
    elif isinstance(node, list | tuple):
        for child in node:
            yield from walk(child)


def texts(node: object) -> list[str]:
    """Every piece of text shown below ``node``, in order."""
    found: list[str] = []

    def collect(item: object) -> None:
        if isinstance(item, Component):
            collect(getattr(item, "children", None))
        elif isinstance(item, list | tuple):
            for child in item:
                collect(child)
        elif item is not None:
            found.append(str(item))

    collect(node)
    return found


def text(node: object) -> str:
    return "".join(texts(node))


def ids(node: object) -> list[Any]:
    return [c.id for c in walk(node) if getattr(c, "id", None) is not None]


def hrefs(node: object) -> list[str]:
    return [c.href for c in walk(node) if getattr(c, "href", None) is not None]


def by_class(node: object, name: str) -> list[Component]:
    return [c for c in walk(node) if name in (getattr(c, "className", None) or "").split()]


def by_id(node: object, wanted: object) -> Component:
    """The one component with this id (the test fails if there are none or several)."""
    (found,) = [c for c in walk(node) if getattr(c, "id", None) == wanted]
    return found
