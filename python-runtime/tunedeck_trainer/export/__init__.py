"""Export of a finished job: the adapter folder, a GGUF LoRA, and optionally the merged model.

The host zips what this writes; see __main__.py for the command line.
"""
