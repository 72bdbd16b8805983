"""Secrets out of everything printed or posted: the run's own, and credential-shaped text."""

import json

import pytest

from scripts.redaction import MASK, Secrets

ENV = {
    "SLACK_BOT_TOKEN": "xoxb-1234-5678-abcdefabcdef",
    "PAPERCUPS_PASSWORD": "correct horse",
    "PAGERDUTY_ROUTING_KEYS": json.dumps({"payments": "R0UT1NGKEY0000000000000000000001"}),
    "CUSTOMERS_YAML": "customers:\n  - name: Acme Rockets\n    domains: [acme.example]\n",
    "GITHUB_TOKEN": "ab",  # too short to hide without masking ordinary words
}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("token xoxb-1234-5678-abcdefabcdef is revoked", f"token {MASK} is revoked"),
        ("login failed for correct horse", f"login failed for {MASK}"),
        ("key R0UT1NGKEY0000000000000000000001 unknown", f"key {MASK} unknown"),
        ("echo:   - name: Acme Rockets", f"echo:   - {MASK}"),
        ("Acme Rockets (Focus)", "Acme Rockets (Focus)"),  # a name alone is not the raw file
        ("ab cd", "ab cd"),
        # shapes of credentials this run was not given
        ("Authorization: Bearer eyJhbGciOi.abc", f"Authorization: Bearer {MASK}"),
        ('{"authorization": "Token token=abc123"}', f'{{"authorization": "Token token={MASK}"}}'),
        ("GET /v1?token=abc&page=2", f"GET /v1?token={MASK}&page=2"),
        ("ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaa1234", MASK),
        ("sk_live_51Habcdefgh", MASK),
        ("xapp-1-A0-123-abcdef", MASK),
        # words that only look near a credential stay
        ("Slack refused the token: invalid_auth", "Slack refused the token: invalid_auth"),
        ("GITHUB_TOKEN is not set", "GITHUB_TOKEN is not set"),
    ],
)
def test_redact(text, shown):
    assert Secrets.from_environment(ENV).redact(text) == shown


def test_a_payload_is_redacted_in_every_string():
    secrets = Secrets(["s3cret-value"])
    payload = {"text": "a s3cret-value", "blocks": [{"t": ["s3cret-value", 3]}], "n": 1}
    redacted = {"text": f"a {MASK}", "blocks": [{"t": [MASK, 3]}], "n": 1}
    assert secrets.redact_data(payload) == redacted


def test_a_secret_holding_another_is_hidden_whole():
    assert Secrets(["abcd", "abcdefgh"]).redact("x abcdefgh y") == f"x {MASK} y"
