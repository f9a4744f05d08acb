"""Carry-on bundles: prepare here, measure on a board, import the records back."""
