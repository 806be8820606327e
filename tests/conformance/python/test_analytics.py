"""`/analytics/query` and `/analytics/meta` through the official Python SDK (openrouter 1.3.84):
per-key spend by day and model from recorded usage, and the declared errors.

The SDK's row model (`QueryAnalyticsData1`) declares no fields and drops every value of a row, so the
row contents are checked on the same query sent without the SDK; the SDK must still parse the answer
(row count, metadata, warnings)."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta

import pytest
from openrouter import errors


def today_range(emulator):
    now = datetime.fromisoformat(emulator.control("GET", "clock")["now"].replace("Z", "+00:00"))
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def raw_query(emulator, body: dict) -> dict:
    request = urllib.request.Request(
        f"{emulator.base_url}/analytics/query",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {emulator.management_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read().decode())["data"]


def test_spend_of_a_key_by_day_and_model(emulator, client):
    key = client.api_keys.create(name="spender").data
    other = client.api_keys.create(name="other").data
    emulator.record_usage(key.hash, usage=1.25, requests=10, model="openai/gpt-4.1")
    emulator.record_usage(key.hash, usage=0.5, requests=4, model="anthropic/claude-sonnet-4")
    emulator.record_usage(other.hash, usage=9.0, requests=1, model="openai/gpt-4.1")
    start, end = today_range(emulator)

    query = {
        "metrics": ["total_usage", "request_count"],
        "dimensions": ["model"],
        "granularity": "day",
        "time_range": {"start": start, "end": end},
        "filters": [{"field": "api_key_id", "operator": "eq", "value": key.hash}],
        "order_by": {"field": "total_usage", "direction": "desc"},
    }
    answer = client.analytics.query_analytics(**query).data
    assert answer.metadata.row_count == 2 and answer.metadata.truncated is False
    assert len(answer.data) == 2
    wire = dict(query, time_range={"start": start.isoformat(), "end": end.isoformat()})
    rows = raw_query(emulator, wire)["data"]
    day = start.strftime("%Y-%m-%dT00:00:00.000Z")
    assert [(r["date__day"], r["model"], r["total_usage"], r["request_count"]) for r in rows] == [
        (day, "openai/gpt-4.1", 1.25, 10),
        (day, "anthropic/claude-sonnet-4", 0.5, 4),
    ]

    by_key = raw_query(emulator, {"metrics": ["total_usage"], "dimensions": ["api_key_id"]})
    totals = {row["api_key_id"]: row["total_usage"] for row in by_key["data"]}
    assert totals == {key.hash: pytest.approx(1.75), other.hash: pytest.approx(9.0)}
    assert client.analytics.query_analytics(metrics=["total_usage"], dimensions=["api_key_id"]).data.metadata.row_count == 2

    unknown = client.analytics.query_analytics(
        metrics=["total_usage"], filters=[{"field": "api_key_id", "operator": "eq", "value": "0" * 64}]
    ).data
    assert unknown.data == [] and unknown.warnings and "0" * 64 in unknown.warnings[0]


def test_meta_is_parsed(client):
    meta = client.analytics.get_analytics_meta().data
    assert {"request_count", "total_usage"} <= {metric.name for metric in meta.metrics}
    assert {"api_key_id", "model"} <= {dimension.name for dimension in meta.dimensions}
    assert "day" in {granularity.name for granularity in meta.granularities}
    assert {(op.name, op.value_type) for op in meta.operators} >= {("eq", "scalar"), ("in", "array")}


def test_documented_errors(emulator, client):
    with pytest.raises(errors.BadRequestResponseError) as caught:
        client.analytics.query_analytics(metrics=["no_such_metric"])
    assert caught.value.status_code == 400
    with pytest.raises(errors.BadRequestResponseError):
        client.analytics.query_analytics(metrics=["request_count"], dimensions=["a", "b", "c"])
    stranger = emulator.client("sk-or-v1-not-a-key-of-this-account")
    with pytest.raises(errors.UnauthorizedResponseError):
        stranger.analytics.query_analytics(metrics=["request_count"])
    with pytest.raises(errors.UnauthorizedResponseError):
        stranger.analytics.get_analytics_meta()
    inference = client.api_keys.create(name="inference")
    with pytest.raises(errors.ForbiddenResponseError):
        emulator.client(inference.key).analytics.query_analytics(metrics=["request_count"])
    with pytest.raises(errors.ForbiddenResponseError):
        emulator.client(inference.key).analytics.get_analytics_meta()
