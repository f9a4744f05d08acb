"""The Coral ``edgetpu_compiler`` step and its report: which ops were mapped to the Edge TPU.

``edgetpu_compiler`` (x86-64 Linux only; Coral's apt repository) takes a full-int8 ``.tflite`` and writes
``<name>_edgetpu.tflite`` plus ``<name>_edgetpu.log``. Its stdout says how many operations run on the
Edge TPU and how many on the CPU (these two lines are printed only when some ops stay on the CPU), and
the log's operator table gives, per operator, a count and a status: ``Mapped to Edge TPU`` or the reason
it was not. The mapped fraction goes into the artifact's record (``details.edgetpu``): an artifact with
half its ops on the host CPU is not an Edge TPU measurement, and the record says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from suite.errors import JobFailed, NotAvailableHere

INSTALL_HINT = (
    "edgetpu_compiler is not installed: it runs on x86-64 Linux only (Coral's apt repository: "
    "sudo apt-get install edgetpu-compiler); compile there and carry the artifact to the device"
)
_ROW = re.compile(r"^(?P<op>[A-Z][A-Z0-9_]*)\s+(?P<count>\d+)\s+(?P<status>\S.*?)\s*$")
_SIZE = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "KB": 1000, "MB": 1000**2, "GB": 1000**3}


def _bytes(text: str | None) -> int | None:
    if not text:
        return None
    m = re.match(r"([\d.]+)\s*([KMG]?i?B)", text.strip())
    return int(float(m.group(1)) * _SIZE.get(m.group(2), 1)) if m else None


def _field(text: str, label: str) -> str | None:
    m = re.search(rf"^{re.escape(label)}:\s*(.+?)\s*$", text, re.MULTILINE)
    return m.group(1) if m else None


def parse_compiler_log(text: str) -> dict[str, Any]:
    """The compiler's stdout and/or its ``_edgetpu.log``, as numbers (tested on captured logs)."""
    operators: list[dict[str, Any]] = []
    in_table = False
    for line in text.splitlines():
        if re.match(r"^Operator\s+Count\s+Status", line.strip()):
            in_table = True
            continue
        if in_table:
            m = _ROW.match(line.strip())
            if m:
                operators.append({"op": m.group("op"), "count": int(m.group("count")), "status": m.group("status")})
            elif line.strip():  # "... All other operators were mapped", or the next section
                in_table = False
    on_tpu = _field(text, "Number of operations that will run on Edge TPU")
    on_cpu = _field(text, "Number of operations that will run on CPU")
    total = _field(text, "Total number of operations")
    mapped_table = sum(o["count"] for o in operators if o["status"] == "Mapped to Edge TPU")
    unmapped_table = sum(o["count"] for o in operators if o["status"] != "Mapped to Edge TPU")
    n_tpu = int(on_tpu) if on_tpu else None
    n_cpu = int(on_cpu) if on_cpu else None
    n_total = int(total) if total else None
    if n_tpu is None and n_total is not None and n_cpu is None and not unmapped_table:
        n_tpu, n_cpu = n_total, 0  # every op mapped: the compiler prints no per-device counts then
    if n_tpu is None and operators:
        n_tpu, n_cpu = mapped_table, unmapped_table
    if n_total is None and n_tpu is not None and n_cpu is not None:
        n_total = n_tpu + n_cpu
    version = re.search(r"Edge TPU Compiler version (\S+)", text)
    return {
        "compiler_version": version.group(1) if version else None,
        "ops_total": n_total,
        "ops_on_edgetpu": n_tpu,
        "ops_on_cpu": n_cpu,
        "mapped_fraction": (n_tpu / n_total) if (n_tpu is not None and n_total) else None,
        "subgraphs": int(_field(text, "Number of Edge TPU subgraphs") or 0) or None,
        "on_chip_bytes": _bytes(_field(text, "On-chip memory used for caching model parameters")),
        "off_chip_bytes": _bytes(_field(text, "Off-chip memory used for streaming uncached model parameters")),
        "not_mapped": [o for o in operators if o["status"] != "Mapped to Edge TPU"],
    }


def compile_for_edgetpu(tflite: Path, outdir: Path, timeout_s: float = 600) -> tuple[Path, dict[str, Any]]:
    """Run ``edgetpu_compiler`` on a full-int8 model; return the compiled file and the parsed report."""
    compiler = shutil.which("edgetpu_compiler")
    if compiler is None:
        raise NotAvailableHere(INSTALL_HINT)
    outdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [compiler, "-s", "-o", str(outdir), str(tflite)], capture_output=True, text=True, timeout=timeout_s
    )
    out = outdir / f"{tflite.stem}_edgetpu.tflite"
    if proc.returncode != 0 or not out.is_file():
        last = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise JobFailed(f"edgetpu_compiler failed on {tflite.name}: {last[0]}")
    log = outdir / f"{tflite.stem}_edgetpu.log"
    text = proc.stdout + ("\n" + log.read_text(errors="replace") if log.is_file() else "")
    return out, parse_compiler_log(text)
