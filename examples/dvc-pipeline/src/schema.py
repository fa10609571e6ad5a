"""Expectations for the raw SMS table. `prepare` validates every run against them."""

import pandera as pa


def _spam_share_is_plausible(df) -> bool:
    # The collection is ~13% spam; a share far outside 5-30% means a broken export.
    share = (df["label"] == "spam").mean()
    return 0.05 <= share <= 0.30


RawMessages = pa.DataFrameSchema(
    columns={
        "label": pa.Column(str, pa.Check.isin(["ham", "spam"]), nullable=False),
        "message": pa.Column(str, pa.Check.str_length(min_value=1, max_value=1000), nullable=False),
    },
    checks=pa.Check(_spam_share_is_plausible, name="spam_share_between_5_and_30_percent"),
    strict=True,
)
