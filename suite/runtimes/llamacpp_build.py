"""Is llama.cpp built in this environment, and what was built: read from the build's stamp, never by importing.

``make llamacpp`` (tools/llamacpp_build.sh) compiles llama.cpp from llama-cpp-python's pinned source once per
environment and writes ``llama_cpp/edgeq-build.json`` beside the bindings: version, llama.cpp commit, build
seconds, CMake flags, CPU. Importing ``llama_cpp`` without its libraries raises from ctypes deep inside
the package, so the runtime and the GGUF methods ask here first and turn a missing build into one line
that says how to get it (their jobs are then ``skipped``, not failed). The tools (llama-quantize,
llama-imatrix) and the converter live in the same package folder.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from suite.errors import NotAvailableHere

STAMP = "edgeq-build.json"
# build_s of the stamps `make llamacpp` wrote on the 2-core Intel Xeon (Sapphire Rapids) machine EdgeQ is developed
# on: 266 s from a clean clone (the source download included), 490 s with other jobs running beside it.
BUILD_TIME_HERE = "it took 4.4 to 8.2 min on 2 Xeon cores"


def package_dir() -> Path | None:
    """The installed ``llama_cpp`` package folder, found without importing it."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def stamp() -> dict[str, Any] | None:
    """The build's stamp (what ``make llamacpp`` built and how long it took), or None when not built."""
    folder = package_dir()
    if folder is None or not (folder / STAMP).is_file():
        return None
    try:
        data: dict[str, Any] = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return None
    return data


def how_to_get() -> str:
    """One line: llama.cpp is not built here, how to build it, what that costs."""
    return (
        "llama.cpp is not built in this environment: run `make llamacpp` (compiles llama-cpp-python's pinned "
        f"source with its tools and converter once per environment; {BUILD_TIME_HERE})"
    )


def require_build() -> dict[str, Any]:
    """The stamp of a finished build, or ``NotAvailableHere`` with :func:`how_to_get` (a skipped job)."""
    found = stamp()
    if found is None:
        raise NotAvailableHere(how_to_get())
    return found


def tool(name: str) -> Path:
    """One of llama.cpp's tools of this build (``llama-quantize``, ``llama-imatrix``, ``llama-perplexity``)."""
    require_build()
    folder = package_dir()
    assert folder is not None
    path = folder / "bin" / name
    if not path.is_file():
        raise NotAvailableHere(f"{path} is missing from the llama.cpp build: run `make llamacpp` again")
    return path


def converter() -> Path:
    """llama.cpp's ``convert_hf_to_gguf.py`` of this build (with its own gguf-py beside it)."""
    require_build()
    folder = package_dir()
    assert folder is not None
    path = folder / "convert" / "convert_hf_to_gguf.py"
    if not path.is_file():
        raise NotAvailableHere(f"{path} is missing from the llama.cpp build: run `make llamacpp` again")
    return path
