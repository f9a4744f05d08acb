"""Result records (schema edgeq.record/1): the store, merging records from elsewhere, the baseline rule."""
