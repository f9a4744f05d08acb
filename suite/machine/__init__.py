"""This machine: detection, board state, pre-flight, environment fingerprint, doctor."""
