"""Observability destinations through the official Python SDK (openrouter 1.3.84): the per-type
union parsed with its secrets masked, paging, `api_key_hashes` updates and the declared errors."""

from __future__ import annotations

import json

import pytest
from openrouter import errors

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
LANGFUSE = {"publicKey": "pk-lf-conformance", "secretKey": "sk-lf-conformance-secret-4321"}


def test_create_get_update_delete_round_trip(emulator, client):
    key = client.api_keys.create(name="logged").data
    created = client.observability.create(
        type_="langfuse", name="traces", config=LANGFUSE, api_key_hashes=[key.hash]
    ).data
    assert type(created).__name__ == "ObservabilityLangfuseDestination"
    assert created.type == "langfuse"
    assert created.config.public_key == "pk-lf-conformance"
    assert created.config.secret_key == "****4321"
    assert created.api_key_hashes == [key.hash]
    assert created.enabled is True and created.sampling_rate == 1
    assert created.regions == ["global"]
    assert created.filter_rules is None

    fetched = client.observability.get(id=created.id).data
    assert fetched == created
    raw = emulator.raw_get(f"observability/destinations/{created.id}", emulator.management_key)
    assert "conformance-secret" not in json.dumps(raw)

    updated = client.observability.update(
        id=created.id,
        api_key_hashes=None,
        enabled=False,
        filter_rules={"groups": [{"logic": "and", "rules": [{"field": "model", "operator": "equals", "value": "openai/gpt-4.1"}]}]},
    ).data
    assert updated.api_key_hashes is None and updated.enabled is False
    assert updated.filter_rules.groups[0].rules[0].field == "model"
    assert updated.config.secret_key == "****4321"

    assert client.observability.delete(id=created.id).DELETED is True
    with pytest.raises(errors.NotFoundResponseError):
        client.observability.get(id=created.id)


def test_list_pages_with_next_and_every_type_parses(client):
    configs = {
        "webhook": {"url": "https://127.0.0.1/hook", "method": "PUT"},
        "datadog": {"apiKey": "dd-api-key-0123456789", "mlApp": "app"},
        "s3": {"bucketName": "b", "accessKeyId": "AKIA0000", "secretAccessKey": "s3-secret-abcdefgh"},
        "otel-collector": {"endpoint": "https://127.0.0.1:4318"},
        "langfuse": LANGFUSE,
    }
    for kind, config in configs.items():
        client.observability.create(type_=kind, name=kind, config=config)
    page = client.observability.list(limit=2)
    kinds = []
    while page is not None:
        assert page.result.total_count == 5
        kinds += [item.type for item in page.result.data]
        page = page.next()
    assert kinds == list(configs)


def test_documented_errors(emulator, client):
    for n in range(5):
        client.observability.create(type_="langfuse", name=f"lf{n}", config=LANGFUSE)
    with pytest.raises(errors.ConflictResponseError) as caught:
        client.observability.create(type_="langfuse", name="lf5", config=LANGFUSE)
    assert caught.value.status_code == 409
    with pytest.raises(errors.BadRequestResponseError):
        client.observability.create(type_="webhook", name="hook", config={})
    destination = client.observability.list().result.data[0]
    with pytest.raises(errors.BadRequestResponseError):
        client.observability.update(id=destination.id, api_key_hashes=[])
    with pytest.raises(errors.NotFoundResponseError):
        client.observability.update(id=UNKNOWN_ID, enabled=True)
    with pytest.raises(errors.NotFoundResponseError):
        client.observability.delete(id=UNKNOWN_ID)

    stranger = emulator.client("sk-or-v1-not-a-key-of-this-account")
    with pytest.raises(errors.UnauthorizedResponseError):
        stranger.observability.list()
    with pytest.raises(errors.UnauthorizedResponseError):
        stranger.observability.get(id=destination.id)
    inference = client.api_keys.create(name="inference")
    with pytest.raises(errors.ForbiddenResponseError):
        emulator.client(inference.key).observability.create(type_="langfuse", name="x", config=LANGFUSE)
