"""GGUF methods: the task's causal LM quantized by llama.cpp's own ``llama-quantize``, for the ``llamacpp`` runtime.

Every method starts from the task's f32 GGUF (converted once per weights by llama.cpp's converter,
suite/methods/gguf_convert.py) and writes one GGUF: ``gguf-f32`` (the fp32 weights as llama.cpp stores them: the
``llamacpp`` entry's baseline, so every llama.cpp row's KL divergence is to fp32 logits, as on the other
runtimes), ``gguf-f16`` (the float file llama.cpp's own ``--kl-divergence`` users compare with),
``gguf-q8_0``, ``gguf-q4_0``, ``gguf-q4_k_m``, and ``gguf-q4_k_m-imatrix`` / ``gguf-iq4_xs-imatrix`` with an
importance matrix from the task's calibration text (suite/methods/imatrix.py); ``gguf`` takes any llama-quantize type as a parameter (``type``), refused
before any job when llama-quantize has no such type.

What was really stored is read from llama-quantize's own log, not assumed from the label: each tensor's
type (``precision_map``, ``details.tensor_types``), the tensors whose row length the type's block does not
divide and the type llama.cpp fell back to (``details.fallbacks``: SmolLM2's 576-wide rows are not a
multiple of the K-quants' 256, so most of a "Q4_K_M" file is Q5_0/Q8_0), and llama-quantize's size and
bits per weight (``details.llama_quantize``). A fallback is data, not an error.

``details.conversion_check``: how the f32 GGUF every type starts from agrees with the task's fp32 source
(suite/methods/gguf_convert.py); the quantization itself is the method and is not held to it.

``inference_precision``: llama.cpp's CPU kernels multiply a block-quantized weight with activations
quantized to 8-bit blocks (Q8_0/Q8_K dot products), an F16 weight with F16 activations, so a quantized
file runs ``int8`` (``f16`` for gguf-f16, ``f32`` for gguf-f32).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator

from suite.errors import JobFailed
from suite.methods.base import Artifact, Method, Params, PrepareContext
from suite.runtimes.llamacpp_build import require_build, tool

# llama-quantize's type names (lower case) -> nominal weight bits, and whether it needs an importance matrix.
TYPES: dict[str, tuple[int, bool]] = {
    "f32": (32, False),
    "f16": (16, False),
    "bf16": (16, False),
    "q8_0": (8, False),
    "q6_k": (6, False),
    "q5_0": (5, False),
    "q5_1": (5, False),
    "q5_k_s": (5, False),
    "q5_k_m": (5, False),
    "q4_0": (4, False),
    "q4_1": (4, False),
    "q4_k_s": (4, False),
    "q4_k_m": (4, False),
    "iq4_nl": (4, False),
    "iq4_xs": (4, False),
    "q3_k_s": (3, False),
    "q3_k_m": (3, False),
    "q3_k_l": (3, False),
    "iq3_xxs": (3, True),
    "iq3_s": (3, False),
    "iq3_m": (3, False),
    "q2_k": (2, False),
    "q2_k_s": (2, True),
    "iq2_xxs": (2, True),
    "iq2_xs": (2, True),
    "iq2_s": (2, True),
    "iq2_m": (2, True),
    "iq1_s": (1, True),
    "iq1_m": (1, True),
}

_TENSOR = re.compile(
    r"^\[\s*\d+/\s*\d+\]\s+(?P<name>\S+)\s+-\s+\[[^\]]*\],\s+type =\s+(?P<src>\w+),"
    r"(?:\s+converting to (?P<dst>\w+))?"
)
_FALLBACK = re.compile(
    r"^warning: (?P<name>\S+)\s+- ncols\s+(?P<cols>\d+) not divisible by (?P<block>\d+) "
    r"\(required for type\s+(?P<want>\w+)\) -> falling back to\s+(?P<used>\w+)"
)
_SIZE = re.compile(r"quant size\s+=\s+(?P<mib>[\d.]+) MiB \((?P<bpw>[\d.]+) BPW\)")
_FALLBACK_COUNT = re.compile(r"(?P<n>\d+) of (?P<total>\d+) tensor\(s\) required fallback")


def read_quantize_log(log: str) -> dict[str, Any]:
    """Per-tensor types, fallbacks and llama-quantize's size/BPW line from its log (stdout and stderr)."""
    types: dict[str, str] = {}
    fallbacks: list[dict[str, Any]] = []
    size: dict[str, Any] = {}
    for line in log.splitlines():
        if m := _TENSOR.match(line):
            types[m["name"]] = (m["dst"] or m["src"]).lower()
        elif m := _FALLBACK.match(line):
            fallbacks.append(
                {
                    "tensor": m["name"],
                    "row_length": int(m["cols"]),
                    "block": int(m["block"]),
                    "wanted": m["want"].lower(),
                    "used": m["used"].lower(),
                    "reason": f"row length {m['cols']} not divisible by {m['want']}'s block of {m['block']}",
                }
            )
        elif m := _SIZE.search(line):
            size.update(size_mib=float(m["mib"]), bits_per_weight=float(m["bpw"]))
        elif m := _FALLBACK_COUNT.search(line):
            size.update(fallback_tensors=int(m["n"]), tensors=int(m["total"]))
    return {"tensor_types": types, "fallbacks": fallbacks, "llama_quantize": size}


def quantize(source: Path, out: Path, qtype: str, imatrix: Path | None) -> dict[str, Any]:
    """``llama-quantize [--imatrix FILE] SOURCE OUT TYPE THREADS``; what its log says was stored."""
    cmd = [str(tool("llama-quantize"))]
    if imatrix is not None:
        cmd += ["--imatrix", str(imatrix)]
    cmd += [str(source), str(out), qtype.upper(), str(max(1, len(os.sched_getaffinity(0))))]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = round(time.perf_counter() - t0, 2)
    log = proc.stdout + "\n" + proc.stderr
    if proc.returncode != 0 or not out.is_file():
        lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
        cause = next((ln for ln in reversed(lines) if "error" in ln.lower() or "failed" in ln.lower()), "")
        raise JobFailed(
            f"llama-quantize cannot make {qtype} from {source.name}: {(cause or (lines[-1] if lines else ''))[:300]}"
        )
    return {**read_quantize_log(log), "seconds": seconds}


class GgufParams(Params):
    type: str = Field("q4_k_m", description="llama-quantize's type, lower case (q8_0, q4_k_m, iq4_xs, ...)")
    imatrix: bool = Field(False, description="quantize with the importance matrix of the task's calibration text")

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        name = value.lower()
        if name not in TYPES:
            raise ValueError(f"a llama-quantize type, one of {', '.join(TYPES)}")
        return name


class Gguf(Method):
    """Any llama-quantize type (``type``), with or without the task's importance matrix (``imatrix``)."""

    Params = GgufParams

    def apply(self, ctx: PrepareContext, params: Any) -> Artifact:
        from suite.methods.gguf_convert import conversion_check, converted, shared_work

        qtype, use_imatrix = params.type, params.imatrix
        build = require_build()
        bits, needs_imatrix = TYPES[qtype]
        if needs_imatrix and not use_imatrix:
            raise JobFailed(f"llama-quantize type {qtype} needs an importance matrix: set imatrix: true")
        source, facts = converted(ctx)
        check = conversion_check(ctx, source)  # the f32 file every type is quantized from, against its source
        imatrix_file, imatrix_facts = None, None
        if use_imatrix:
            from suite.methods.imatrix import importance_matrix

            imatrix_file, imatrix_facts = importance_matrix(ctx, source)
        out = ctx.workdir / "model.gguf"
        stored = quantize(source, out, qtype, imatrix_file)
        counts = Counter(stored["tensor_types"].values())
        float_type = qtype in ("f32", "f16", "bf16")
        details = {
            "type": qtype,
            "imatrix": imatrix_facts,
            "fallbacks": stored["fallbacks"],
            "tensor_types": dict(sorted(counts.items())),
            "llama_quantize": {**stored["llama_quantize"], "seconds": stored["seconds"]},
            "converted": {k: v for k, v in facts.items() if k != "source_folder"},
            "source_note": facts.get("source_note"),
            "llama_cpp": {"version": build.get("version"), "commit": build.get("llama_cpp_commit")},
            "inference_precision": {"f32": "f32", "f16": "f16", "bf16": "bf16"}.get(qtype, "int8"),
            "work": shared_work(ctx, source),
            "conversion_check": check,
        }
        return Artifact.for_file(
            "gguf",
            out,
            simulated=False,
            weight_bits=bits,
            activation_bits=bits if float_type else 8,
            precision_map=dict(counts),
            details=details,
        )


class _Preset(Method):
    """A fixed llama-quantize type (the method's name says which); no parameters."""

    TYPE: ClassVar[str]
    IMATRIX: ClassVar[bool] = False

    class Params(Params):
        pass

    def apply(self, ctx: PrepareContext, params: Any) -> Artifact:
        return Gguf().apply(ctx, GgufParams(type=self.TYPE, imatrix=self.IMATRIX))


class GgufF32(_Preset):
    TYPE = "f32"


class GgufF16(_Preset):
    TYPE = "f16"


class GgufQ8(_Preset):
    TYPE = "q8_0"


class GgufQ4(_Preset):
    TYPE = "q4_0"


class GgufQ4KM(_Preset):
    TYPE = "q4_k_m"


class GgufQ4KMImatrix(_Preset):
    TYPE = "q4_k_m"
    IMATRIX = True


class GgufIq4XsImatrix(_Preset):
    TYPE = "iq4_xs"
    IMATRIX = True
