import pytest

from features import HANDCRAFTED, digit_ratio, handcrafted, normalize, uppercase_ratio


def test_normalize_replaces_urls_and_long_numbers():
    text = "Visit WWW.Example.com or call 0800123456 NOW"
    assert normalize(text) == "visit urltoken or call numtoken now"


def test_normalize_keeps_short_numbers_and_collapses_whitespace():
    assert normalize("  see you at\t\n7 ") == "see you at 7"


@pytest.mark.parametrize(
    "text, expected",
    [("ABC", 1.0), ("abc", 0.0), ("AbCd", 0.5), ("1234 !!", 0.0), ("", 0.0)],
)
def test_uppercase_ratio(text, expected):
    assert uppercase_ratio(text) == pytest.approx(expected)


def test_digit_ratio_handles_empty_message():
    assert digit_ratio("") == 0.0
    assert digit_ratio("a1") == pytest.approx(0.5)


def test_handcrafted_columns_are_bounded_and_complete(messages):
    feats = handcrafted(messages["message"])
    assert list(feats.columns) == HANDCRAFTED
    assert len(feats) == len(messages)
    assert feats.notna().all().all()
    assert ((feats >= 0) & (feats <= 1)).all().all()


def test_currency_and_url_flags(messages):
    feats = handcrafted(messages["message"])
    spam = messages["label"] == "spam"
    assert feats.loc[spam, "has_currency"].eq(1.0).all()
    assert feats.loc[~spam, "has_currency"].eq(0.0).all()
    assert feats["n_urls"].max() == pytest.approx(1 / 3)
