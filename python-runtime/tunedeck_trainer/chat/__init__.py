"""Chat with a base model and its LoRA adapters: one process, the model loaded once.

    python -m tunedeck_trainer.chat serve

See serve.py for the JSON-lines protocol on stdin/stdout.
"""
