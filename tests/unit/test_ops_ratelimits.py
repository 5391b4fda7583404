"""`bot.ops.ratelimits`: how long a 429 says to wait."""

from __future__ import annotations

from bot.ops.ratelimits import retry_after


def test_the_exact_header_wins_over_whole_seconds() -> None:
    assert retry_after({"Retry-After": "1", "X-RateLimit-Reset-After": "0.25"}) == 0.25
    assert retry_after({"Retry-After": "3"}) == 3.0


def test_missing_or_garbled_headers_are_no_wait() -> None:
    assert retry_after({}) == 0.0
    assert retry_after({"X-RateLimit-Reset-After": "soon", "Retry-After": "2"}) == 2.0
    assert retry_after({"Retry-After": "-4"}) == 0.0
