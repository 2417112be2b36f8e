"""python -m tunedeck_trainer.evaluation: see evaluate.py."""

import sys

from .evaluate import main

sys.exit(main())
