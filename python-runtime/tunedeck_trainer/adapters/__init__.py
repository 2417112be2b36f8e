"""The adapter library's math: combining LoRA adapters trained on the same base (combine.py).

Run by the host as ``python -m tunedeck_trainer.adapters combine ...`` (see __main__.py).
Weights are read and written as safetensors only, never unpickled.
"""
