"""Credits and activity through the official Python SDK: parsed, and consistent with recorded usage."""

from __future__ import annotations

from datetime import datetime

import pytest


def test_credits_are_parsed_and_follow_recorded_usage(emulator, client):
    before = client.credits.get_credits().data
    raw = emulator.raw_get("credits", emulator.management_key)["data"]
    assert before.total_credits == raw["total_credits"]
    assert before.total_usage == raw["total_usage"]
    assert before.total_credits >= 0 and before.total_usage >= 0

    key = client.api_keys.create(name="spender").data
    emulator.record_usage(key.hash, usage=3.5, requests=2)

    after = client.credits.get_credits().data
    assert after.total_credits == before.total_credits
    assert after.total_usage == pytest.approx(before.total_usage + 3.5)


def test_activity_reports_recorded_usage_by_day_model_and_key(emulator, client):
    key = client.api_keys.create(name="busy").data
    other = client.api_keys.create(name="idle").data
    emulator.record_usage(
        key.hash, usage=3.5, byok_usage=1.25, requests=7, model="openai/gpt-4o-mini"
    )
    emulator.record_usage(other.hash, usage=0.5, requests=1, model="anthropic/claude-3.5-haiku")
    recorded_day = emulator.control("GET", "clock")["now"][:10]
    datetime.strptime(recorded_day, "%Y-%m-%d")
    # Activity covers completed UTC days: move the clock into the next day.
    emulator.control("POST", "clock", {"advance_seconds": 86_400})

    items = client.analytics.get_user_activity(request={"api_key_hash": key.hash}).data
    assert items, "no activity for a key with recorded usage"
    assert all(item.date_.startswith(recorded_day) for item in items)
    assert {item.model for item in items} == {"openai/gpt-4o-mini"}
    assert sum(item.usage for item in items) == pytest.approx(3.5)
    assert sum(item.byok_usage_inference for item in items) == pytest.approx(1.25)
    assert sum(item.requests for item in items) == 7
    for item in items:
        assert isinstance(item.model_permaslug, str)
        assert isinstance(item.endpoint_id, str)
        assert isinstance(item.provider_name, str)
        assert item.prompt_tokens >= 0 and item.completion_tokens >= 0
        assert item.reasoning_tokens >= 0 and item.cached_tokens >= 0

    everyone = client.analytics.get_user_activity(request={"date_": recorded_day}).data
    assert {item.model for item in everyone} == {"openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"}
    assert sum(item.usage for item in everyone) == pytest.approx(4.0)
