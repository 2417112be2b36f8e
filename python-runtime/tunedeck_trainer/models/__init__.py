"""The model library: models already on this machine, what fits the GPU, downloads from the Hub.

    python -m tunedeck_trainer.models list [--folder DIR ...]
    python -m tunedeck_trainer.models inspect PATH_OR_HUB_ID [--estimate]
    python -m tunedeck_trainer.models download HUB_ID [--revision REV] [--token-file FILE]

Every command prints JSON lines on stdout (see ``__main__``); the host reads them. Nothing here
imports torch unless an estimate is asked for.
"""
