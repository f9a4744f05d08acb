"""The built-in plugins, listed lazily: name -> "module:attr" plus what ``edgeq list`` shows.

Listing costs nothing: no plugin module is imported until a plugin is fetched. A plugin's own module
registers it with the same decorator a third-party plugin would use; the entry here just says where
to find it. Third-party plugins come in through the ``edgeq.<kind>`` entry-point groups instead.
"""

from __future__ import annotations

from suite.registry import datasets, methods, power, runtimes, zoo

_METHODS = [
    # name, module:attr, family, simulated, summary
    ("fp32", "suite.methods.fp32:Fp32", "baseline", False, "float32 reference exported to ONNX"),
    ("ptq-static", "suite.methods.ort_ptq:PtqStatic", "ptq", False, "ONNX Runtime quantize_static, QDQ int8"),
    ("dynamic", "suite.methods.ort_dynamic:Dynamic", "dynamic", False, "ONNX Runtime quantize_dynamic, int8 weights"),
]
for _name, _target, _family, _simulated, _summary in _METHODS:
    if _name not in methods:
        methods.add_lazy(_name, _target, family=_family, simulated=_simulated, summary=_summary)

_OTHERS = [
    (runtimes, "ort", "suite.runtimes.ort:OrtRuntime", {"formats": ["onnx"], "summary": "ONNX Runtime"}),
    (zoo, "builtin", "suite.zoo.builtin:load", {"summary": "small CNNs trained here in seconds"}),
    (datasets, "sklearn-digits", "suite.data.sklearn_digits:load", {"summary": "scikit-learn's 1797 8x8 digits"}),
    (power, "rapl", "suite.power.rapl:RaplSensor", {"boundary": "cpu_package", "summary": "Intel/AMD RAPL via powercap"}),
    (power, "none", "suite.power.none:NoSensor", {"summary": "no power measurement"}),
]
for _registry, _name, _target, _meta in _OTHERS:
    if _name not in _registry:
        _registry.add_lazy(_name, _target, **_meta)
