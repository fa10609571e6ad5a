import pandas as pd
import pytest

# Eight messages from the public SMS Spam Collection (2 spam, 6 ham).
MESSAGES = [
    ("ham", "Ok lar... Joking wif u oni..."),
    (
        "spam",
        "WINNER!! As a valued network customer you have been selected to receive a "
        "£900 prize reward! To claim call 09061701461. Claim code KL341.",
    ),
    ("ham", "I'm gonna be home soon and i don't want to talk about this stuff anymore tonight"),
    ("ham", "Sorry, I'll call later"),
    (
        "spam",
        "URGENT! You have won a 1 week FREE membership in our £100,000 Prize Jackpot! "
        "Txt the word: CLAIM to No: 81010 T&C www.dbuk.net",
    ),
    ("ham", "Is that seriously how you spell his name?"),
    ("ham", "Even my brother is not like to speak with me. They treat me like aids patent."),
    ("ham", "As per your request 'Melle Melle' has been set as your callertune"),
]


@pytest.fixture
def messages() -> pd.DataFrame:
    return pd.DataFrame(MESSAGES, columns=["label", "message"])
