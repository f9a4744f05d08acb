"""One registry class for every plugin kind (methods, runtimes, zoo sources, datasets, power sensors, task
kinds).

Modelled on lm-evaluation-harness's registry: the built-in plugins of a kind are listed in the
``PLUGINS`` table of their own package (``suite/methods/__init__.py``: name -> ``"module:attr"`` and
metadata), read the first time the registry is used, without importing any plugin module; an entry is
imported the first time it is fetched with :meth:`Registry.get`. So ``edgeq list`` never imports torch
or TensorFlow, and the run side (runtimes, power) never even reads the method or model tables.

Third-party plugins come in two ways, and their metadata is written once too, on the plugin object:

- installed packages, through the entry-point group ``edgeq.<kind>``
  (``[project.entry-points."edgeq.methods"] my-method = "pkg.module:MyMethod"``); the object's
  ``plugin_meta`` dict is its metadata (family, format, summary... as in the built-in tables);
- modules named in ``EDGEQ_PLUGINS``, which register with the decorator
  (``@methods.register("my-method", family="ptq", format="onnx", summary="...")``).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any

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
            # Built-ins come from an edgeq extra; an entry point from the distribution that declares it.
            fix = (
                "install the extra that provides it"
                if self.origin == "builtin"
                else f"check the installation of {self.origin}"
            )
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise BadInput(
                    f"{kind} {self.name!r} needs {exc.name or module_name!r}, which is not installed ({exc}); {fix}"
                ) from exc
            # Importing the module may already have filled obj through the decorator.
            if self.obj is None:
                obj: Any = module
                try:
                    for part in attr.split(".") if attr else ():  # entry points may name "mod:Outer.Inner"
                        obj = getattr(obj, part)
                except AttributeError:
                    raise BadInput(
                        f"{kind} {self.name!r}: {self.target!r} names no object in {module_name!r} ({self.origin}); {fix}"
                    ) from None
                self.obj = obj
        return self.obj


class Registry:
    """Name -> plugin map for one kind, with lazy entries and entry-point discovery."""

    def __init__(self, kind: str, label: str | None = None, package: str | None = None) -> None:
        self.kind = kind
        self.label = label or (kind[:-1] if kind.endswith("s") else kind)  # what one entry is called
        self.package = package  # the package whose PLUGINS table lists the built-ins of this kind
        self._entries: dict[str, Entry] = {}
        self._loaded = False

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
            raise BadInput(f"{self.kind} {name!r} is registered twice ({existing.target or existing.obj!r} and {here})")
        self._entries[name] = Entry(name=name, obj=obj, meta=dict(meta))

    def add_lazy(self, name: str, target: str, **meta: Any) -> None:
        """List a plugin by ``"module:attr"`` without importing it."""
        if name in self._entries:
            raise BadInput(f"{self.kind} {name!r} is registered twice ({self._entries[name].target} and {target})")
        self._entries[name] = Entry(name=name, target=target, meta=dict(meta))

    # -- lookup ---------------------------------------------------------------------------------
    def _load(self) -> None:
        """Built-ins from the package table, then ``EDGEQ_PLUGINS`` modules, then entry points (once)."""
        if self._loaded:
            return
        self._loaded = True
        if self.package:
            table = importlib.import_module(self.package).PLUGINS
            for name, (target, meta) in table.items():
                if name not in self._entries:
                    self._entries[name] = Entry(name=name, target=f"{self.package}.{target}", meta=dict(meta))
        load_env_plugins()
        for ep in importlib_metadata.entry_points(group=f"edgeq.{self.kind}"):
            if ep.name not in self._entries:
                dist = getattr(ep, "dist", None)
                self._entries[ep.name] = Entry(  # module:attr without the legacy "[extras]" suffix
                    name=ep.name, target=f"{ep.module}:{ep.attr or ''}", origin=getattr(dist, "name", "entry point")
                )

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def entry(self, name: str) -> Entry:
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            raise BadInput(self.unknown_message(name)) from None

    def get(self, name: str) -> Any:
        return self.entry(name).resolve(self.label)

    def meta(self, name: str) -> dict[str, Any]:
        """The plugin's metadata: its table row, its decorator's keywords, or (an entry point) the
        ``plugin_meta`` of the object it names, which is imported for it."""
        entry = self.entry(name)
        if not entry.meta and entry.origin != "builtin":
            entry.meta = dict(getattr(entry.resolve(self.label), "plugin_meta", None) or {})
        return entry.meta

    def unknown_message(self, name: str) -> str:
        known = self.names()
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown {self.label} {name!r}{hint} (known: {', '.join(known)})"

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


methods = Registry("methods", package="suite.methods")
runtimes = Registry("runtimes", package="suite.runtimes")
zoo = Registry("zoo", label="model source", package="suite.zoo")
datasets = Registry("datasets", package="suite.data")
power = Registry("power", label="sensor", package="suite.power")
kinds = Registry("kinds", label="task kind", package="suite.kinds")

REGISTRIES: dict[str, Registry] = {
    "methods": methods,
    "runtimes": runtimes,
    "zoo": zoo,
    "datasets": datasets,
    "sensors": power,
    "power": power,
    "kinds": kinds,
}


def dist_version(dist: str) -> str | None:
    """The installed version of a distribution (a plugin's, a toolkit's, a runtime library's), or None."""
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return None


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
            raise BadInput(
                f"EDGEQ_PLUGINS: cannot import {name!r} ({exc}); expected an importable module name"
            ) from None
        _ENV_PLUGINS_LOADED.add(name)
