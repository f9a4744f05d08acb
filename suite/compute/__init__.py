"""Work per inference and what the hardware could do with it.

``graph`` counts multiply-accumulates from an ONNX graph (prepare side: it needs ``onnx``); ``efficiency``
sets a record's achieved operations against its target's peak (plain Python, safe on the run side);
``cpu_peak`` lives in ``suite.machine`` because it reads the CPU.
"""
