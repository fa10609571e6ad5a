"""Credit-risk training pipeline: prepare → features → train → evaluate → validate.

Each module is a DVC stage (see dvc.yaml) and is runnable with `python -m`.
"""

from pathlib import Path

import yaml

MODEL_NAME = "credit-risk"


def load_params(path: str | Path = "params.yaml") -> dict:
    return yaml.safe_load(Path(path).read_text())
