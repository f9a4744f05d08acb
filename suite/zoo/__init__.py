"""Model sources: a task's model spec -> a float reference model (torch module today)."""
