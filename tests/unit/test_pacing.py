"""The request budget (bot/pacing.py): which requests count, the settings, and that the bucket holds
requests back (without timing them: a held request is simply not done yet)."""

from __future__ import annotations

import asyncio

import pytest

from bot.pacing import PacingSettings, RequestBudget, counts_against_global_limit

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(("path", "counted"), [
    ("/api/v10/channels/1/messages", True),
    ("/api/v10/channels/1/messages/2/threads", True),
    ("/api/v10/users/@me", True),
    ("/api/v10/applications/1/commands", True),
    ("/api/v10/interactions/123/tok-en/callback", False),  # Discord exempts answers to members
    ("/api/v10/webhooks/1/tok-en", False),
    ("/api/v10/webhooks/1/tok-en/messages/@original", False),
    ("/gateway-ws/", False),  # the gateway (the fake's), not REST
    ("/attachments/1/2/chart.png", False),  # the CDN
])
def test_which_requests_count_against_the_global_limit(path: str, counted: bool) -> None:
    assert counts_against_global_limit(path) is counted


def test_settings_from_the_environment() -> None:
    assert PacingSettings.from_env({}) == PacingSettings(45.0, 16)
    assert PacingSettings.from_env({"AAR_REQUESTS_PER_SECOND": "30", "AAR_RELEASE_WORKERS": " 4 "}) == \
        PacingSettings(30.0, 4)


@pytest.mark.parametrize(("env", "named"), [
    ({"AAR_REQUESTS_PER_SECOND": "51"}, "at most 50"),
    ({"AAR_REQUESTS_PER_SECOND": "0"}, "above 0"),
    ({"AAR_REQUESTS_PER_SECOND": "fast"}, "invalid pacing setting"),
    ({"AAR_RELEASE_WORKERS": "0"}, "AAR_RELEASE_WORKERS"),
])
def test_bad_settings_are_refused_with_what_is_wrong(env: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        PacingSettings.from_env(env)


async def test_the_bucket_holds_a_request_over_the_rate_but_never_an_exempt_one() -> None:
    budget = RequestBudget(requests_per_second=0.5)  # a burst of two, then one every two seconds
    await budget.take("/api/v10/users/@me")
    await budget.take("/api/v10/channels/1/messages")
    held = asyncio.create_task(budget.take("/api/v10/users/@me"))
    await budget.take("/api/v10/interactions/1/t/callback")  # a member's answer passes at once
    done, _ = await asyncio.wait({held}, timeout=0.2)
    assert not done and budget.granted == 2
    held.cancel()
    await asyncio.gather(held, return_exceptions=True)
