"""Tunedeck trainer: LoRA fine-tuning driven by a job folder (config.json in, events.jsonl out).

Run: python -m tunedeck_trainer train --job-dir DIR (see __main__.py).
"""

__version__ = "0.1.0"
