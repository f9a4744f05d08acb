"""Model sources: a task's model spec -> a float reference model (a torch module, or an ONNX graph file)."""
