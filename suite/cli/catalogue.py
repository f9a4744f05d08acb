"""``edgeq list`` and ``edgeq validate``: what is available, and whether a task or target file is right."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from suite.cli.app import app
from suite.errors import EXIT_BAD_INPUT, BadInput


@app.command("list")
def list_(
    kind: str = typer.Argument(..., help="methods | tasks | targets | runtimes | sensors | datasets | zoo"),
) -> None:
    """List what is available, without importing torch or TensorFlow."""
    from suite.paths import HARDWARE_DIR, TASKS_DIR
    from suite.registry import REGISTRIES

    if kind in ("tasks", "targets"):
        folder = TASKS_DIR if kind == "tasks" else HARDWARE_DIR
        for path in sorted(folder.glob("*.yaml")):
            print(path.stem)
        return
    if kind not in REGISTRIES:
        raise BadInput(f"unknown kind {kind!r} (known: methods, tasks, targets, runtimes, sensors, datasets, zoo)")
    registry = REGISTRIES[kind]
    for name in registry.names():
        try:
            meta = registry.meta(name)
        except BadInput as exc:  # a broken plugin is listed as such; it must not hide the others
            print(f"{name:<22} unavailable: {exc}")
            continue
        if kind == "methods":
            label = "simulated" if meta.get("simulated") else "deployable"
            fmt = meta.get("format", "onnx")
            toolkit = meta.get("toolkit") or "-"
            print(
                f"{name:<22} {meta.get('family', ''):<12} {label:<11} {fmt:<7} {toolkit:<13} {meta.get('summary', '')}"
            )
            print(f"{'':<22} params: {_method_params(registry, name)}")
        else:
            print(f"{name:<22} {meta.get('summary', '')}")


def _method_params(registry, name: str) -> str:  # type: ignore[no-untyped-def]
    """``name=default`` for each parameter. Method modules import torch/TF only inside functions, so
    reading their pydantic Params stays cheap."""
    try:
        params_cls = registry.get(name).Params
    except Exception as exc:  # a broken plugin must not break the listing
        return f"unavailable ({' '.join(str(exc).split())[:120]})"
    items = [f"{key}={field.default!r}" for key, field in params_cls.model_fields.items()]
    return ", ".join(items) or "(none)"


@app.command()
def validate(files: list[Path] = typer.Argument(..., help="task or hardware profile YAML files")) -> None:
    """Check task and profile files; one line per file, non-zero exit if any is broken."""
    from suite.job.checks import validate_file

    bad = 0
    for path in files:
        try:
            kind = validate_file(path)
            print(f"ok   {path} ({kind})")
        except BadInput as exc:
            bad += 1
            print(f"FAIL {exc}", file=sys.stderr)
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)
