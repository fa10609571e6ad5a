"""Daily (monitor.yml): fail, and so notify the owners, when the production model is too old.

The budget (21 days) comes from the staleness study in docs/model-staleness.md.
Serving also exports credit_risk_model_age_seconds, which CreditRiskModelStale
in deploy/alerts.yaml pages on; this check covers the registry side: a retrain
that silently stopped promoting.
"""

import argparse
import sys
import time

from mlflow import MlflowClient

MODEL_NAME = "credit-risk"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-age-days", type=float, default=21)
    args = parser.parse_args()

    champion = MlflowClient().get_model_version_by_alias(MODEL_NAME, "champion")
    age_days = (time.time() - champion.creation_timestamp / 1000) / 86400
    print(f"{MODEL_NAME} v{champion.version}: {age_days:.1f} days old (budget {args.max_age_days})")
    if age_days > args.max_age_days:
        sys.exit(
            f"check_staleness: champion is {age_days:.0f} days old; has retrain.yml been failing?"
        )


if __name__ == "__main__":
    main()
