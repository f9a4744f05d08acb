"""Dataset adapters: a task's dataset -> seeded, disjoint train / eval / calibration splits (numpy)."""
