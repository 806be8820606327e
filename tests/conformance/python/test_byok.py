"""BYOK provider credentials through the official Python SDK (openrouter 1.3.84): every operation
parsed, paging followed with `next()`, allowlists set and cleared, and the declared errors."""

from __future__ import annotations

import json

import pytest
from openrouter import errors

PROVIDER_KEY = "sk-proj-conformance-provider-secret-AbCd"
OTHER_WORKSPACE = "11111111-2222-4333-8444-555555555555"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def test_create_get_update_delete_round_trip(emulator, client):
    key = client.api_keys.create(name="allowed").data
    created = client.byok.create(
        provider="openai", key=PROVIDER_KEY, name="Prod OpenAI", allowed_api_key_hashes=[key.hash]
    ).data
    assert created.provider == "openai"
    assert created.label == "sk-...AbCd"
    assert created.allowed_api_key_hashes == [key.hash]
    assert created.allowed_models is None and created.allowed_user_ids is None
    assert created.workspace_id is not None
    assert created.sort_order == 0
    assert created.is_fallback is False and created.is_byok_only is False
    assert created.disabled is False

    fetched = client.byok.get(id=created.id).data
    assert fetched == created
    raw = emulator.raw_get(f"byok/{created.id}", emulator.management_key)
    assert "conformance-provider-secret" not in json.dumps(raw)

    renamed = client.byok.update(id=created.id, name="Renamed", allowed_api_key_hashes=None).data
    assert renamed.name == "Renamed"
    assert renamed.allowed_api_key_hashes is None
    again = client.byok.update(id=created.id, allowed_api_key_hashes=[key.hash], disabled=True).data
    assert again.allowed_api_key_hashes == [key.hash] and again.disabled is True

    assert client.byok.delete(id=created.id).DELETED is True
    with pytest.raises(errors.NotFoundResponseError):
        client.byok.get(id=created.id)


def test_list_pages_with_next_and_filters(emulator, client):
    emulator.control("POST", "seed", {"count": 0, "workspace_id": OTHER_WORKSPACE})
    for n in range(7):
        client.byok.create(provider="anthropic" if n % 2 else "openai", key=PROVIDER_KEY, name=f"c{n}")
    client.byok.create(provider="groq", key=PROVIDER_KEY, workspace_id=OTHER_WORKSPACE)

    page = client.byok.list(limit=3)
    names = []
    while page is not None:
        assert page.result.total_count == 7
        names += [item.name for item in page.result.data]
        page = page.next()
    assert names == [f"c{n}" for n in range(7)]

    openai = client.byok.list(provider="openai").result
    assert openai.total_count == 4 and {item.provider for item in openai.data} == {"openai"}
    scoped = client.byok.list(workspace_id=OTHER_WORKSPACE).result
    assert [item.provider for item in scoped.data] == ["groq"]


def test_deleted_keys_stay_in_allowlists(client):
    first = client.api_keys.create(name="first").data
    second = client.api_keys.create(name="second").data
    credential = client.byok.create(
        provider="anthropic", key=PROVIDER_KEY, allowed_api_key_hashes=[first.hash, second.hash]
    ).data
    client.api_keys.delete(hash=first.hash)
    assert client.byok.get(id=credential.id).data.allowed_api_key_hashes == [first.hash, second.hash]
    cleaned = client.byok.update(id=credential.id, allowed_api_key_hashes=[second.hash]).data
    assert cleaned.allowed_api_key_hashes == [second.hash]


def test_documented_errors(emulator, client):
    credential = client.byok.create(provider="openai", key=PROVIDER_KEY).data
    with pytest.raises(errors.BadRequestResponseError) as caught:
        client.byok.create(provider="openai", key=PROVIDER_KEY, allowed_api_key_hashes=["f" * 64])
    assert "not a key of this account" in json.loads(caught.value.body)["error"]["message"]
    with pytest.raises(errors.BadRequestResponseError):
        client.byok.update(id=credential.id, allowed_api_key_hashes=[])
    with pytest.raises(errors.BadRequestResponseError):
        client.byok.list(workspace_id="not-a-uuid")
    for call in (
        lambda: client.byok.get(id=UNKNOWN_ID),
        lambda: client.byok.update(id=UNKNOWN_ID, disabled=True),
        lambda: client.byok.delete(id=UNKNOWN_ID),
    ):
        with pytest.raises(errors.NotFoundResponseError) as caught:
            call()
        assert caught.value.status_code == 404

    stranger = emulator.client("sk-or-v1-not-a-key-of-this-account")
    for call in (
        lambda: stranger.byok.list(),
        lambda: stranger.byok.get(id=credential.id),
        lambda: stranger.byok.create(provider="openai", key=PROVIDER_KEY),
        lambda: stranger.byok.update(id=credential.id, disabled=True),
        lambda: stranger.byok.delete(id=credential.id),
    ):
        with pytest.raises(errors.UnauthorizedResponseError):
            call()

    inference = client.api_keys.create(name="inference")
    as_inference = emulator.client(inference.key)
    for call in (
        lambda: as_inference.byok.create(provider="openai", key=PROVIDER_KEY),
        lambda: as_inference.byok.list(),
    ):
        with pytest.raises(errors.ForbiddenResponseError):
            call()
    # 403 is not declared for get: the SDK raises its default error with the status intact.
    with pytest.raises(errors.OpenRouterError) as caught:
        as_inference.byok.get(id=credential.id)
    assert caught.value.status_code == 403
