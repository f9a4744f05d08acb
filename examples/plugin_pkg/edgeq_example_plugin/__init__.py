"""The example plugin of the plugin guide (docs/plugins.md).

Three plugins, each named by an entry point in ``pyproject.toml`` and described by its class's
``plugin_meta``: the method ``example-fp16-weights`` (``method.py``), the runtime ``example-ort``
(``runtime.py``) and the power sensor ``example-file-meter`` (``sensor.py``). Nothing is imported here,
so listing the plugins costs only the import of the module that holds each one.
"""
