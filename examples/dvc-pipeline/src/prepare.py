"""Stage `prepare`: validate the raw messages, drop duplicates, split train/test."""

import csv
from pathlib import Path

import pandas as pd
import yaml
from sklearn.model_selection import train_test_split

from schema import RawMessages

RAW = Path("data/raw/sms_spam.tsv")
OUT = Path("data/prepared")


def load_raw(path: Path = RAW) -> pd.DataFrame:
    """The UCI file is tab separated, no header, and contains stray quotes."""
    return pd.read_csv(path, sep="\t", names=["label", "message"], quoting=csv.QUOTE_NONE)


def main() -> None:
    params = yaml.safe_load(Path("params.yaml").read_text())
    raw = RawMessages.validate(load_raw(), lazy=True)
    raw = raw.drop_duplicates(subset="message")
    train, test = train_test_split(
        raw,
        test_size=params["prepare"]["test_size"],
        stratify=raw["label"],
        random_state=params["seed"],
    )
    OUT.mkdir(parents=True, exist_ok=True)
    train.to_csv(OUT / "train.csv", index=False)
    test.to_csv(OUT / "test.csv", index=False)
    print(f"prepare: {len(train)} train / {len(test)} test messages")


if __name__ == "__main__":
    main()
