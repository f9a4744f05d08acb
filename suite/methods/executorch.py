"""``executorch-fp32`` and ``executorch-int8``: ``.pte`` programs for the ``executorch`` runtime, lowered
to the XNNPACK delegate (ExecuTorch's CPU backend on Arm and x86). On a causal-LM task ``executorch-fp32``
writes a program with its KV cache instead, as ExecuTorch's LLM export does (``executorch_lm.py``, which
also holds ``executorch-8da4w``).

fp32: ``torch.export`` of the reference model, then ``to_edge_transform_and_lower`` with the
``XnnpackPartitioner`` and ``to_executorch``. int8: PT2E post-training quantization first
(torchao's ``prepare_pt2e``/``convert_pt2e`` with ExecuTorch's ``XNNPACKQuantizer``, symmetric int8,
per-channel weights by default, calibrated on the calibration split one sample at a time), then the
same lowering: XNNPACK takes the quantize/dequantize + conv groups as int8 kernels.

The programs have a static batch of 1 (what an app on a phone or a Pi runs; the runtime runs a batch
of n as n calls). ``artifact.details.delegation`` counts the graph's compute nodes inside and outside
the XNNPACK delegate after lowering; ``inference_precision`` is the compute nodes' precision in the
quantized graph (int8 where a conv/linear reads a dequantized int8 tensor), because the runtime cannot
look inside the XNNPACK payload. A model ``torch.export`` or the partitioner refuses fails its job with
one line naming executorch, its version and the cause.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from suite.methods.base import Artifact, Method, Params, PrepareContext
from suite.methods.executorch_program import lower, precision_of, pte_artifact
from suite.methods.toolkits import quiet, require, toolkit_errors

NOISY = ("torchao", "torch.utils._pytree")  # torchao logs each optional CUDA kernel it cannot load


class ExecutorchFp32(Method):
    class Params(Params):
        pass

    def apply(self, ctx: PrepareContext, params: Params) -> Artifact:
        import torch

        from suite.methods.executorch_lm import is_causal_lm, lm_program

        if is_causal_lm(ctx):  # a program with its KV cache, as ExecuTorch's LLM export writes it
            return lm_program(ctx, "executorch-fp32", None)
        with quiet(*NOISY):
            require("executorch.exir", "executorch")
        module = ctx.reference.torch_module("method 'executorch-fp32' (it torch.exports the model)").eval()
        example = (torch.zeros(1, *ctx.task.input.shape),)
        out = ctx.workdir / "model.pte"
        with toolkit_errors("executorch", "export and lower this model"), torch.no_grad():
            program = torch.export.export(module, example)
            facts = lower(program, out)
            precision = precision_of(program.graph_module)
        from suite.zoo.conversion_check import N_INPUTS, compare, enforce, pte_outputs, torch_outputs

        x = np.ascontiguousarray(ctx.splits.x_eval[:N_INPUTS], dtype=np.float32)
        check = enforce(compare("torch", "pte (ExecuTorch XNNPACK)", torch_outputs(module, x), pte_outputs(out, x)))
        details = {"delegation": facts, "batch": 1, "backend": "XnnpackBackend", "conversion_check": check}
        return pte_artifact(out, precision, 32, details)


class Int8Params(Params):
    per_channel: bool = True
    calibration_samples: int | None = Field(None, ge=1, description="first N of the calibration split; None = all")


class ExecutorchInt8(Method):
    Params = Int8Params

    def apply(self, ctx: PrepareContext, params: Int8Params) -> Artifact:  # type: ignore[override]
        import torch

        with quiet(*NOISY):
            require("executorch.exir", "executorch")
        module = ctx.reference.torch_module("method 'executorch-int8' (it quantizes the model with PT2E)").eval()
        example = (torch.zeros(1, *ctx.task.input.shape),)
        out = ctx.workdir / "model.pte"
        x_cal = ctx.splits.x_cal[: params.calibration_samples]
        with toolkit_errors("executorch", "quantize and lower this model"), torch.no_grad():
            from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
                XNNPACKQuantizer,
                get_symmetric_quantization_config,
            )
            from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

            from suite.methods.torch_common import single_thread

            quantizer = XNNPACKQuantizer().set_global(
                get_symmetric_quantization_config(is_per_channel=params.per_channel)
            )
            prepared = prepare_pt2e(torch.export.export(module, example).module(), quantizer)
            with single_thread():
                for i in range(len(x_cal)):
                    prepared(torch.from_numpy(x_cal[i : i + 1]))
            converted = convert_pt2e(prepared)
            program = torch.export.export(converted, example)
            precision = precision_of(program.graph_module)
            facts = lower(program, out)
        details = {
            "delegation": facts,
            "batch": 1,
            "backend": "XnnpackBackend",
            "quantizer": "XNNPACKQuantizer symmetric int8",
            "granularity": "per-channel" if params.per_channel else "per-tensor",
            "calibration_samples_used": int(len(x_cal)),
        }
        return pte_artifact(out, precision, 8, details)
