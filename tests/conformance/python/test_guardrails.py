"""Guardrails, their key and member assignments, and the public model list, through the official
Python SDK (openrouter 1.3.84): every call parses, paging follows `next()`, and the documented errors
arrive as the classes the SDK declares for them."""

from __future__ import annotations

import json

import pytest
from openrouter import errors

from conftest import UNKNOWN_HASH

ACCOUNT_USER_ID = "user_2dHFtVWx2n56w6HkM0000000000"
UNKNOWN_ID = "6f1c3a52-0000-4000-8000-000000000000"


def new_key(client, name: str) -> str:
    return client.api_keys.create(name=name).data.hash


def all_pages(response):
    """Every item of a paged SDK listing, following `next()`."""
    items = []
    while response is not None:
        items.extend(response.result.data)
        response = response.next()
    return items


def test_create_get_update_delete(client):
    created = client.guardrails.create(
        name="Production",
        description="approved models only",
        limit_usd=25.0,
        reset_interval="monthly",
        allowed_models=["openai/gpt-4.1", "anthropic/claude-sonnet-4"],
        allowed_providers=["openai", "anthropic"],
        enforce_zdr_openai=True,
        include_byok_in_budgets=True,
    ).data
    assert created.name == "Production"
    assert created.limit_usd == 25.0
    assert created.reset_interval == "monthly"
    assert created.allowed_models == ["openai/gpt-4.1-2025-04-14", "anthropic/claude-4-sonnet-20250522"]
    assert created.allowed_providers == ["openai", "anthropic"]
    assert created.enforce_zdr_openai is True
    assert created.include_byok_in_budgets is True
    assert created.workspace_id == "0df9e665-d932-5740-b2c7-b52af166bc11"
    assert created.updated_at is None

    got = client.guardrails.get(id=created.id).data
    assert got.id == created.id and got.allowed_models == created.allowed_models

    updated = client.guardrails.update(
        id=created.id, allowed_models=["google/gemini-2.5-flash"], limit_usd=None, name="Renamed"
    ).data
    assert updated.allowed_models == ["google/gemini-2.5-flash"]
    assert updated.limit_usd is None
    assert updated.name == "Renamed"
    assert updated.allowed_providers == ["openai", "anthropic"], "PATCH leaves other lists alone"
    assert isinstance(updated.updated_at, str)

    assert client.guardrails.delete(id=created.id).DELETED is True
    with pytest.raises(errors.NotFoundResponseError):
        client.guardrails.get(id=created.id)


def test_list_pages_with_next(emulator, client):
    for index in range(7):
        client.guardrails.create(name=f"g{index}")
    first = client.guardrails.list(limit=3)
    assert first.result.total_count == 7
    assert len(first.result.data) == 3
    names = [guardrail.name for guardrail in all_pages(first)]
    assert names == [f"g{index}" for index in range(7)]
    workspace = "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
    emulator.control("POST", "seed", {"count": 0, "workspace_id": workspace})
    client.guardrails.create(name="elsewhere", workspace_id=workspace)
    there = client.guardrails.list(workspace_id=workspace).result
    assert [guardrail.name for guardrail in there.data] == ["elsewhere"]


def test_key_assignments(client):
    first = client.guardrails.create(name="first").data.id
    second = client.guardrails.create(name="second").data.id
    a, b = new_key(client, "key-a"), new_key(client, "key-b")

    assert client.guardrails.bulk_assign_keys(id=first, key_hashes=[a, b]).assigned_count == 2
    listed = client.guardrails.list_guardrail_key_assignments(id=first).result
    assert listed.total_count == 2
    assignment = listed.data[0]
    assert assignment.key_hash == a
    assert assignment.key_name == "key-a"
    assert assignment.key_label.startswith("sk-or-v1-")
    assert assignment.guardrail_id == first
    assert assignment.assigned_by == ACCOUNT_USER_ID

    # A key holds one guardrail: assigning another replaces the first.
    assert client.guardrails.bulk_assign_keys(id=second, key_hashes=[b]).assigned_count == 1
    on_first = client.guardrails.list_guardrail_key_assignments(id=first).result.data
    assert [x.key_hash for x in on_first] == [a]
    everything = all_pages(client.guardrails.list_key_assignments(limit=1))
    assert sorted(x.key_hash for x in everything) == sorted([a, b])

    removed = client.guardrails.bulk_unassign_keys(id=second, key_hashes=[a, b])
    assert removed.unassigned_count == 1
    # Deleting a key removes its assignment.
    client.api_keys.delete(hash=a)
    assert client.guardrails.list_key_assignments().result.total_count == 0


def test_member_assignments(client):
    guardrail = client.guardrails.create(name="members").data.id
    assigned = client.guardrails.bulk_assign_members(id=guardrail, member_user_ids=[ACCOUNT_USER_ID])
    assert assigned.assigned_count == 1
    listed = client.guardrails.list_guardrail_member_assignments(id=guardrail).result
    assert listed.total_count == 1
    member = listed.data[0]
    assert member.user_id == ACCOUNT_USER_ID
    assert member.organization_id.startswith("org_")
    assert member.guardrail_id == guardrail
    assert [m.user_id for m in client.guardrails.list_member_assignments().result.data] == [ACCOUNT_USER_ID]
    removed = client.guardrails.bulk_unassign_members(id=guardrail, member_user_ids=[ACCOUNT_USER_ID])
    assert removed.unassigned_count == 1


def raised(call, cls, status: int) -> str:
    with pytest.raises(cls) as caught:
        call()
    assert caught.value.status_code == status
    body = json.loads(caught.value.body)
    assert body["error"]["code"] == status
    return body["error"]["message"]


def test_documented_errors(emulator, client):
    guardrail = client.guardrails.create(name="g").data.id
    key = new_key(client, "k")
    # 400
    raised(lambda: client.guardrails.create(name=""), errors.BadRequestResponseError, 400)
    raised(lambda: client.guardrails.create(name="g", limit_usd=-1), errors.BadRequestResponseError, 400)
    message = raised(
        lambda: client.guardrails.create(name="g", allowed_models=["acme/unknown"]),
        errors.BadRequestResponseError,
        400,
    )
    assert "unknown model" in message
    raised(lambda: client.guardrails.list(limit=101), errors.BadRequestResponseError, 400)
    raised(lambda: client.guardrails.update(id=guardrail), errors.BadRequestResponseError, 400)
    raised(
        lambda: client.guardrails.bulk_assign_keys(id=guardrail, key_hashes=[]),
        errors.BadRequestResponseError,
        400,
    )
    # 404
    for call in [
        lambda: client.guardrails.get(id=UNKNOWN_ID),
        lambda: client.guardrails.update(id=UNKNOWN_ID, name="x"),
        lambda: client.guardrails.delete(id=UNKNOWN_ID),
        lambda: client.guardrails.list_guardrail_key_assignments(id=UNKNOWN_ID),
        lambda: client.guardrails.bulk_assign_keys(id=UNKNOWN_ID, key_hashes=[key]),
        lambda: client.guardrails.bulk_unassign_members(id=UNKNOWN_ID, member_user_ids=[ACCOUNT_USER_ID]),
        lambda: client.guardrails.bulk_assign_keys(id=guardrail, key_hashes=[UNKNOWN_HASH]),
    ]:
        raised(call, errors.NotFoundResponseError, 404)
    # 401 and 403
    anonymous = emulator.client(None)
    raised(lambda: anonymous.guardrails.list(), errors.UnauthorizedResponseError, 401)
    inference_secret = client.api_keys.create(name="inference").key
    inference = emulator.client(inference_secret)
    for call in [
        lambda: inference.guardrails.list(),
        lambda: inference.guardrails.create(name="x"),
        lambda: inference.guardrails.get(id=guardrail),
        lambda: inference.guardrails.list_key_assignments(),
        lambda: inference.guardrails.bulk_assign_keys(id=guardrail, key_hashes=[key]),
    ]:
        raised(call, errors.ForbiddenResponseError, 403)


def test_models_list_parses_and_pages(emulator):
    # Public: no key needed.
    anonymous = emulator.client(None)
    whole = anonymous.models.list()
    models = whole.result.data
    assert whole.result.total_count == len(models) >= 10
    assert whole.result.links.next is None
    gpt = next(model for model in models if model.id == "openai/gpt-4.1")
    assert gpt.canonical_slug == "openai/gpt-4.1-2025-04-14"
    assert float(gpt.pricing.prompt) > 0 and float(gpt.pricing.completion) > 0
    assert gpt.context_length > 0
    assert "text" in gpt.architecture.input_modalities
    assert gpt.top_provider.is_moderated is True
    assert [model.created for model in models] == sorted((m.created for m in models), reverse=True)

    paged = all_pages(anonymous.models.list(limit=4))
    assert [model.id for model in paged] == [model.id for model in models]
    assert anonymous.models.list(offset=0, limit=4).result.links.next == "/api/v1/models?offset=4&limit=4"


def test_models_list_for_user_needs_the_management_key(emulator):
    everything = emulator.client(None).models.list().result.data
    for_user = emulator.client(None).models.list_for_user(security={"bearer": emulator.management_key})
    assert [model.id for model in for_user.result.data] == [model.id for model in everything]
    assert for_user.result.data[0].canonical_slug
    raised(
        lambda: emulator.client(None).models.list_for_user(security={"bearer": "sk-or-v1-" + "0" * 64}),
        errors.UnauthorizedResponseError,
        401,
    )
