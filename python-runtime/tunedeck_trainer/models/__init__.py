"""The model library: models already on this machine, what fits the GPU, downloads from the Hub.

    python -m tunedeck_trainer.models list [--folder DIR ...]
    python -m tunedeck_trainer.models inspect PATH_OR_HUB_ID [--estimate] [--free-mb MB]
    python -m tunedeck_trainer.models fit [--settings JSON] [--folder DIR ...] [--free-mb MB]
    python -m tunedeck_trainer.models download HUB_ID [--revision REV]
    python -m tunedeck_trainer.models download-dataset (--hub ID [--config C] [--split S] | --url URL) --out-dir DIR

Every command prints JSON lines on stdout (see ``__main__``); the host reads them. The token for
gated and private models comes from HF_TOKEN. Only ``inspect --estimate`` and ``fit`` import torch.
"""
