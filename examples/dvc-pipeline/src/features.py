"""Feature code: TF-IDF on normalised text plus a few hand-written signals.

Run as stage `featurize`; the functions are imported by `train` tests too.
"""

import re
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer

URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
NUMBER_RE = re.compile(r"\b\d{5,}\b")  # premium shortcodes and phone numbers
CURRENCY_RE = re.compile(r"[£$€]|\b(?:gbp|usd|eur|pounds?)\b", re.IGNORECASE)
HANDCRAFTED = ["length", "uppercase_ratio", "digit_ratio", "n_urls", "has_currency"]


def normalize(text: str) -> str:
    """Lower-case and replace URLs and long numbers by placeholder tokens."""
    text = URL_RE.sub(" urltoken ", text.lower())
    text = NUMBER_RE.sub(" numtoken ", text)
    return re.sub(r"\s+", " ", text).strip()


def uppercase_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in letters) / len(letters) if letters else 0.0


def digit_ratio(text: str) -> float:
    return sum(c.isdigit() for c in text) / len(text) if text else 0.0


def handcrafted(messages: pd.Series) -> pd.DataFrame:
    """Dense features in [0, 1] (length is capped at 500 characters)."""
    return pd.DataFrame(
        {
            "length": messages.str.len().clip(upper=500) / 500,
            "uppercase_ratio": messages.map(uppercase_ratio),
            "digit_ratio": messages.map(digit_ratio),
            "n_urls": messages.map(lambda m: min(len(URL_RE.findall(m)), 3) / 3),
            "has_currency": messages.map(lambda m: float(bool(CURRENCY_RE.search(m)))),
        },
        columns=HANDCRAFTED,
    )


def fit_vectorizer(messages: pd.Series, params: dict) -> TfidfVectorizer:
    vec = TfidfVectorizer(
        max_features=params["max_features"],
        ngram_range=tuple(params["ngram_range"]),
        min_df=params["min_df"],
        sublinear_tf=True,
    )
    return vec.fit(messages.map(normalize))


def transform(vec: TfidfVectorizer, messages: pd.Series) -> sp.csr_matrix:
    tfidf = vec.transform(messages.map(normalize))
    return sp.hstack([tfidf, sp.csr_matrix(handcrafted(messages).to_numpy())]).tocsr()


def main() -> None:
    params = yaml.safe_load(Path("params.yaml").read_text())["featurize"]
    train = pd.read_csv("data/prepared/train.csv")
    test = pd.read_csv("data/prepared/test.csv")
    vec = fit_vectorizer(train["message"], params)
    out = Path("data/features")
    out.mkdir(parents=True, exist_ok=True)
    for name, df in [("train", train), ("test", test)]:
        sp.save_npz(out / f"{name}.npz", transform(vec, df["message"]))
        np.save(out / f"{name}_y.npy", (df["label"] == "spam").to_numpy(dtype=np.int8))
    joblib.dump(vec, out / "vectorizer.pkl")


if __name__ == "__main__":
    main()
