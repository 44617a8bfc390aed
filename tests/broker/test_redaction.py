"""The one redaction function: configured secrets and key-shaped text go, ordinary desk text stays."""

from __future__ import annotations

import pytest

from broker.redaction import Redactor, host_of, url_credentials

ORDINARY = ("SPY BUY 10 @ 101.25 EUR, cycle c5a089fd2079b, proposal pe31173d0, ^FCHI EURUSD=X BRK-B MC.PA; "
            "cache 3f2a9c0d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f; Basic materials; "
            "prompt_tokens=1200 max_tokens=4000 tokens in/out; RSI < 30; https://api.telegram.org/getMe")


@pytest.mark.parametrize(("text", "secret"), [
    ("Error code: 401 - Invalid API key provided: sk-proj-Q7vX2mK9pL4nR8tY1wZ5cB3d.", "Q7vX2mK9pL4nR8tY1wZ5cB3d"),
    ("Incorrect API key provided: corp-gw-7c1e. See the docs", "corp-gw-7c1e"),
    ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
    ("Authorization: Basic cHJveHl1c2VyOnMzY3JldC1QYXNz", "cHJveHl1c2VyOnMzY3JldC1QYXNz"),
    ("connect to http://proxyuser:pa55word@10.0.0.1:8080/v1 failed", "pa55word"),
    ("GET https://data.example/v2/bars?symbols=SPY&apikey=ABCDEF123", "ABCDEF123"),
    ('{"api_key": "k-123456", "password": "hunter22"}', "k-123456"),
    ('{"api_key": "k-123456", "password": "hunter22"}', "hunter22"),
    ("alpaca key PKABCDEFGHIJ12345678 refused", "PKABCDEFGHIJ12345678"),
    ("secret aB3dE6gH9jK2mN5pQ8rS1tU4vW7xY0zAbCdEfGh refused", "aB3dE6gH9jK2mN5pQ8rS1tU4vW7xY0zAbCdEfGh"),
    ("https://api.telegram.org/bot7261834590:AAH3kd_9xQpLm2VbN8cR4tYz1WqE5uIoP0s/getMe", "AAH3kd_9xQpLm2VbN8cR4"),
])
def test_key_shaped_text_is_redacted_without_configuration(text: str, secret: str) -> None:
    redacted = Redactor().text(text)
    assert secret not in redacted and "***" in redacted


def test_configured_secrets_are_redacted_in_every_form_and_nested_value() -> None:
    redactor = Redactor(["my proxy key", "hunter%2322", None, "ab"])
    value = {"error": "echo: my proxy key", "hits": ["pw hunter#22", ("hunter%2322",)], "n": 3}
    assert redactor.value(value) == {"error": "echo: ***", "hits": ["pw ***", ["***"]], "n": 3}
    assert redactor.text("ab stays: too short to be a secret") == "ab stays: too short to be a secret"


def test_ordinary_desk_text_is_unchanged() -> None:
    assert Redactor().text(ORDINARY) == ORDINARY


def test_host_of_drops_user_and_password() -> None:
    assert host_of("http://proxyuser:s3cret@127.0.0.1:8080/v1") == "127.0.0.1:8080"
    assert host_of("proxyuser:s3cret@127.0.0.1:8080") == "127.0.0.1:8080"
    assert host_of("https://api.openai.com/v1") == "api.openai.com"
    assert host_of("http://[::1]:9000/v1") == "[::1]:9000"


def test_url_credentials_include_the_basic_header_value() -> None:
    assert url_credentials("http://proxyuser:s3cret-Pass@h/v1") == ["s3cret-Pass", "cHJveHl1c2VyOnMzY3JldC1QYXNz"]
    assert url_credentials("http://h/v1") == [] and url_credentials(None) == []
