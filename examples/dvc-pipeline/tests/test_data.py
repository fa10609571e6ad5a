from pathlib import Path

import pandera as pa
import pytest

from prepare import RAW, load_raw
from schema import RawMessages


def test_valid_messages_pass(messages):
    RawMessages.validate(messages)


def test_unknown_label_is_rejected(messages):
    bad = messages.assign(label=messages["label"].replace({"ham": "Ham"}))
    with pytest.raises(pa.errors.SchemaError):
        RawMessages.validate(bad)


def test_empty_message_is_rejected(messages):
    bad = messages.copy()
    bad.loc[0, "message"] = ""
    with pytest.raises(pa.errors.SchemaError):
        RawMessages.validate(bad)


def test_implausible_spam_share_is_rejected(messages):
    all_spam = messages.assign(label="spam")
    with pytest.raises(pa.errors.SchemaError):
        RawMessages.validate(all_spam)


@pytest.mark.skipif(not Path(RAW).exists(), reason="raw data not pulled: run `dvc pull`")
def test_raw_file_matches_schema():
    RawMessages.validate(load_raw(), lazy=True)
