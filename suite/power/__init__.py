"""Power sensors: ``probe()`` says whether a sensor can measure here; ``start()``/``stop()`` give energy.

Run side: imports nothing heavy. Energy is recorded only when a sensor measured it (DESIGN.md).
"""
