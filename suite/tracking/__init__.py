"""MLflow: the one writer of runs and the sink every command logs through."""
