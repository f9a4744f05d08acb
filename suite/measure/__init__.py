"""Measurement: deployed accuracy, LoadGen timing, statistics. Run side: numpy and LoadGen only."""
