"""Evaluation of a finished job: the base model against the tuned one (see evaluate.py)."""
