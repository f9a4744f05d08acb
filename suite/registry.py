"""One registry class for every plugin kind (methods, runtimes, zoo sources, datasets, power sensors).

Modelled on timm's model registry and lm-evaluation-harness's ``@register_model``: plugins register
with a decorator, and the catalogue can also hold *lazy* entries, ``"module:attr"`` strings with a little
metadata, so that listing plugins never imports torch or TensorFlow. A lazy entry is resolved (imported)
the first time it is fetched with :meth:`Registry.get`. Third-party packages add plugins through the
entry-point group ``edgeq.<kind>`` (``[project.entry-points."edgeq.methods"]``), loaded lazily too.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any, Callable, Iterator

from suite.errors import BadInput


@dataclass
class Entry:
    """One registered plugin: the object once imported, or where to import it from."""

    name: str
    target: str | None = None  # "module:attr" for lazy entries
    obj: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    origin: str = "builtin"  # or the distribution that provided the entry point

    def resolve(self, kind: str) -> Any:
        if self.obj is None:
            assert self.target is not None
            module_name, _, attr = self.target.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise BadInput(
                    f"{kind} {self.name!r} needs {exc.name or module_name!r}, which is not installed "
                    f"({exc}); install the extra that provides it"
                ) from exc
            # Importing the module may already have filled obj through the decorator.
            if self.obj is None:
                self.obj = getattr(module, attr)
        return self.obj


class Registry:
    """Name -> plugin map for one kind, with lazy entries and entry-point discovery."""

    def __init__(self, kind: str, label: str | None = None) -> None:
        self.kind = kind
        self.label = label or (kind[:-1] if kind.endswith("s") else kind)  # what one entry is called
        self._entries: dict[str, Entry] = {}
        self._entry_points_loaded = False

    # -- registration ---------------------------------------------------------------------------
    def register(self, name: str, **meta: Any) -> Callable[[Any], Any]:
        """Decorator: ``@methods.register("ptq-static", family="ptq")``."""

        def decorator(obj: Any) -> Any:
            self.add(name, obj, **meta)
            return obj

        return decorator

    def add(self, name: str, obj: Any, **meta: Any) -> None:
        existing = self._entries.get(name)
        if existing is not None:
            # The decorator of a lazily-listed plugin runs when its module is imported: that fills the
            # lazy entry in. Anything else under a taken name is a real clash.
            here = f"{getattr(obj, '__module__', '')}:{getattr(obj, '__qualname__', '')}"
            if existing.obj is None and existing.target == here:
                existing.obj = obj
                existing.meta = {**existing.meta, **meta}
                return
            if existing.obj is obj:
                return
            raise BadInput(
                f"{self.kind} {name!r} is registered twice ({existing.target or existing.obj!r} and {here})"
            )
        self._entries[name] = Entry(name=name, obj=obj, meta=dict(meta))

    def add_lazy(self, name: str, target: str, **meta: Any) -> None:
        """List a plugin by ``"module:attr"`` without importing it."""
        if name in self._entries:
            raise BadInput(f"{self.kind} {name!r} is registered twice ({self._entries[name].target} and {target})")
        self._entries[name] = Entry(name=name, target=target, meta=dict(meta))

    # -- lookup ---------------------------------------------------------------------------------
    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in importlib_metadata.entry_points(group=f"edgeq.{self.kind}"):
            if ep.name not in self._entries:
                dist = getattr(ep, "dist", None)
                self._entries[ep.name] = Entry(
                    name=ep.name, target=ep.value, origin=getattr(dist, "name", "entry point")
                )

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._entries)

    def entry(self, name: str) -> Entry:
        self._load_entry_points()
        try:
            return self._entries[name]
        except KeyError:
            raise BadInput(self.unknown_message(name)) from None

    def get(self, name: str) -> Any:
        return self.entry(name).resolve(self.kind)

    def meta(self, name: str) -> dict[str, Any]:
        return self.entry(name).meta

    def unknown_message(self, name: str) -> str:
        known = self.names()
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown {self.label} {name!r}{hint} (known: {', '.join(known)})"

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


methods = Registry("methods")
runtimes = Registry("runtimes")
zoo = Registry("zoo", label="model source")
datasets = Registry("datasets")
power = Registry("power", label="sensor")

REGISTRIES: dict[str, Registry] = {
    "methods": methods,
    "runtimes": runtimes,
    "zoo": zoo,
    "datasets": datasets,
    "sensors": power,
    "power": power,
}


def load_catalogue() -> None:
    """Fill every registry with the built-in lazy entries (cheap: imports no plugin module), then
    import the modules named in ``EDGEQ_PLUGINS``."""
    from suite import catalogue  # noqa: F401  (registers on import)

    load_env_plugins()


_ENV_PLUGINS_LOADED: set[str] = set()


def load_env_plugins() -> None:
    """Import the comma-separated modules of ``EDGEQ_PLUGINS``; they register with the decorators.

    For plugins that are not an installed distribution (a module next to your tasks, the test suite's
    faulty methods). The variable is inherited by the sweep's worker process, so a plugin registered
    this way exists on both sides. Importing a module runs its code: name only modules you trust.
    """
    import os

    for name in (n.strip() for n in os.environ.get("EDGEQ_PLUGINS", "").split(",")):
        if not name or name in _ENV_PLUGINS_LOADED:
            continue
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise BadInput(f"EDGEQ_PLUGINS: cannot import {name!r} ({exc}); expected an importable module name") from None
        _ENV_PLUGINS_LOADED.add(name)
