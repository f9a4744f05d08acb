"""``example-fp16-weights``: the example method of the plugin guide (docs/plugins.md).

Rounds every float32 initializer of the task's fp32 ONNX export to the nearest float16 value and
stores it back as float32: the accuracy cost of half-precision weights, measured with float32
kernels. ONNX Runtime runs the file exactly as it runs fp32, so its speed and size are fp32's, and
the artifact says ``simulated`` (the leaderboard then claims no speed-up for it).
"""

from __future__ import annotations

from suite.methods.base import Artifact, Method, Params, PrepareContext


class Fp16WeightsParams(Params):
    """No parameters; a field here (``name: type = default``) would be settable from task files."""


class Fp16Weights(Method):
    Params = Fp16WeightsParams
    plugin_meta = {
        "family": "fp16",
        "format": "onnx",
        "simulated": True,
        "summary": "example plugin: float32 weights rounded to float16 values (fp32 file and speed: simulated)",
    }

    def apply(self, ctx: PrepareContext, params: Fp16WeightsParams) -> Artifact:  # type: ignore[override]
        import numpy as np
        import onnx
        from onnx import numpy_helper

        from suite.methods.onnx_graph import analyse

        model = onnx.load(str(ctx.fp32_onnx()))
        rounded, max_change = 0, 0.0
        for i, init in enumerate(model.graph.initializer):
            if init.data_type != onnx.TensorProto.FLOAT:
                continue
            w = numpy_helper.to_array(init)
            half_max = float(np.finfo(np.float16).max)
            r = np.clip(w, -half_max, half_max).astype(np.float16).astype(np.float32)
            if w.size:
                max_change = max(max_change, float(np.max(np.abs(r - w))))
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(r, init.name))
            rounded += 1
        out = ctx.workdir / "model.onnx"
        onnx.save(model, str(out))
        facts = analyse(out)  # what the file really holds: float32 layers
        return Artifact.for_file(
            "onnx",
            out,
            simulated=True,
            weight_bits=16,
            activation_bits=32,
            precision_map=facts.pop("precision_map"),
            details={
                **facts,
                "rounded_initializers": rounded,
                "max_abs_change": max_change,
                "compute": "float16 values stored as float32: fp32 kernels, fp32 size and speed (simulated)",
            },
        )
