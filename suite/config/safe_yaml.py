"""YAML that cannot blow up: a size cap on files, and a bound on alias expansion, before pydantic sees it.

``yaml.safe_load`` refuses code, but not a "billion laughs": nine levels of ``&aN [*aN-1, ... x9]``
compose to a few hundred nodes and expand to 9⁹ when anything walks the result (pydantic does, until
memory runs out or pydantic-core panics). PyYAML has no limit of its own, so
the document is composed first (nodes, with aliases still shared), then checked here, then
constructed: an alias count past ``MAX_ALIASES``, an expansion past ``MAX_NODES`` nodes, a recursive
alias, or nesting deeper than Python's stack is refused with one line naming the limits. Task files,
profiles and ``--set`` values are a few KB with a handful of anchors at most, so the bounds cost
nobody anything real.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from suite.errors import BadInput

MAX_YAML_BYTES = 1 << 20  # 1 MiB: the largest shipped task or profile is about 3 KB
MAX_ALIASES = 100
MAX_NODES = 100_000  # nodes after expanding every alias (a shipped task has about 100)
LIMITS = f"limits: {MAX_YAML_BYTES >> 20} MiB per file, {MAX_ALIASES} aliases, {MAX_NODES} nodes after alias expansion"


class _TooBig(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` that counts aliases while it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _TooBig(f"more than {MAX_ALIASES} aliases")
        return super().compose_node(parent, index)


def _expanded_size(root: yaml.Node) -> int:
    """Nodes of the document once every alias is expanded (shared nodes counted each time they are
    used), computed on the shared graph with a memo, so it costs the composed size, not the expanded one."""
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if key in active:
            raise _TooBig("a recursive alias (a node that contains itself)")
        active.add(key)
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(v) for v in node.value)
        else:
            total = 1
        active.discard(key)
        if total > MAX_NODES:
            raise _TooBig(f"more than {MAX_NODES} nodes after alias expansion")
        memo[key] = total
        return total

    return size(root)


def parse_yaml(text: str, where: str) -> Any:
    """``text`` as YAML data (safe types only), or ``BadInput`` naming ``where`` and the limit it broke.

    Syntax errors are left to the caller's ``yaml.YAMLError`` handler, which knows how to word them."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    except _TooBig as exc:
        raise BadInput(f"{where}: refused: {exc} ({LIMITS})") from None
    except RecursionError:
        raise BadInput(f"{where}: refused: nested too deeply to read ({LIMITS})") from None
    finally:
        loader.dispose()


def read_text_capped(path: Path, limit: int = MAX_YAML_BYTES) -> str:
    """A config file's text, refused before it is read when it is larger than ``limit`` bytes."""
    size = os.stat(path).st_size
    if size > limit:
        raise BadInput(f"{path}: refused: {size} bytes, larger than a task or profile file can be ({LIMITS})")
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)  # a file that grew since the stat is still bounded
    if len(data) > limit:
        raise BadInput(f"{path}: refused: larger than a task or profile file can be ({LIMITS})")
    return data.decode("utf-8")
