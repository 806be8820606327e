"""Every key-management operation of the official Python SDK (openrouter 1.3.84) against the
emulator: the SDK must parse each answer, and the parsed values must be the ones the API promises."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

HEX64 = re.compile(r"^[0-9a-f]{64}$")
ZERO_USAGE_FIELDS = (
    "usage",
    "usage_daily",
    "usage_weekly",
    "usage_monthly",
    "byok_usage",
    "byok_usage_daily",
    "byok_usage_weekly",
    "byok_usage_monthly",
)


def list_hashes(client, **query) -> list[str]:
    return [key.hash for key in client.api_keys.list(**query).data]


def emulator_now(emulator) -> datetime:
    return datetime.fromisoformat(emulator.control("GET", "clock")["now"].replace("Z", "+00:00"))


def test_create_with_every_field_is_parsed(emulator, client):
    default_workspace = client.api_keys.create(name="probe").data.workspace_id
    expires = datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

    created = client.api_keys.create(
        name="customer-acme",
        limit=25.5,
        limit_reset="weekly",
        include_byok_in_limit=True,
        expires_at=expires,
        creator_user_id="user_conformance",
        workspace_id=default_workspace,
        external={"user": "end-user-42"},
    )

    secret, data = created.key, created.data
    assert secret.startswith("sk-or-v1-")
    assert HEX64.match(data.hash)
    assert data.hash == hashlib.sha256(secret.encode()).hexdigest()
    assert data.name == "customer-acme"
    assert secret not in data.label and data.label.startswith("sk-or-v1-")
    assert data.disabled is False
    assert data.limit == 25.5
    assert data.limit_remaining == 25.5
    assert data.limit_reset == "weekly"
    assert data.include_byok_in_limit is True
    assert data.expires_at == expires
    assert data.creator_user_id == "user_conformance"
    assert data.external_user == "end-user-42"
    assert data.workspace_id == default_workspace
    assert data.last_used_at is None
    for field in ZERO_USAGE_FIELDS:
        assert getattr(data, field) == 0, field
    assert isinstance(data.created_at, str) and data.created_at


def test_create_with_only_a_name_gets_the_defaults(client):
    data = client.api_keys.create(name="bare").data
    assert data.name == "bare"
    assert data.limit is None
    assert data.limit_remaining is None
    assert data.limit_reset is None
    assert data.include_byok_in_limit is False
    assert data.disabled is False
    assert data.expires_at is None
    assert data.external_user is None
    uuid.UUID(data.workspace_id)


def test_get_returns_the_created_key(client):
    created = client.api_keys.create(name="fetch-me", limit=3.0, limit_reset="daily").data
    fetched = client.api_keys.get(hash=created.hash).data
    assert fetched.hash == created.hash
    assert fetched.name == "fetch-me"
    assert fetched.limit == 3.0
    assert fetched.limit_remaining == 3.0
    assert fetched.limit_reset == "daily"
    assert fetched.label == created.label
    assert fetched.created_at == created.created_at
    assert fetched.workspace_id == created.workspace_id


def test_update_changes_each_field_and_null_clears_the_limit(client):
    key = client.api_keys.create(name="before", limit=10.0, limit_reset="monthly").data

    renamed = client.api_keys.update(hash=key.hash, name="after", limit=None).data
    assert renamed.name == "after"
    assert renamed.limit is None
    assert renamed.limit_remaining is None
    assert renamed.updated_at is not None

    limited = client.api_keys.update(
        hash=key.hash, limit=5.0, limit_reset="daily", include_byok_in_limit=True
    ).data
    assert limited.limit == 5.0
    assert limited.limit_remaining == 5.0
    assert limited.limit_reset == "daily"
    assert limited.include_byok_in_limit is True
    assert limited.name == "after"

    no_reset = client.api_keys.update(hash=key.hash, limit_reset=None).data
    assert no_reset.limit_reset is None
    assert no_reset.limit == 5.0

    disabled = client.api_keys.update(hash=key.hash, disabled=True).data
    assert disabled.disabled is True
    assert client.api_keys.get(hash=key.hash).data.disabled is True

    enabled = client.api_keys.update(hash=key.hash, disabled=False).data
    assert enabled.disabled is False


def test_delete_answers_deleted_and_the_key_is_gone(client):
    from openrouter import errors

    key = client.api_keys.create(name="doomed").data
    assert client.api_keys.delete(hash=key.hash).DELETED is True
    assert key.hash not in list_hashes(client, include_disabled=True, include_expired=True)
    with pytest.raises(errors.NotFoundResponseError):
        client.api_keys.get(hash=key.hash)


def test_list_filters_disabled_and_expired_keys_and_lists_newest_first(emulator, client):
    active = client.api_keys.create(name="active").data.hash
    disabled = client.api_keys.create(name="disabled").data.hash
    client.api_keys.update(hash=disabled, disabled=True)
    soon = emulator_now(emulator) + timedelta(hours=1)
    expiring = client.api_keys.create(name="expiring", expires_at=soon.replace(microsecond=0)).data
    emulator.control("POST", "clock", {"advance_seconds": 2 * 3600})

    assert list_hashes(client) == [active]
    assert list_hashes(client, include_disabled=True) == [disabled, active]
    assert list_hashes(client, include_expired=True) == [expiring.hash, active]
    assert list_hashes(client, include_disabled=True, include_expired=True) == [
        expiring.hash,
        disabled,
        active,
    ]
    listed = client.api_keys.list(include_expired=True).data[0]
    assert listed.expires_at is not None and listed.expires_at < emulator_now(emulator)


def test_paging_with_offset_lists_250_plus_keys_once_each(emulator, client):
    seeded = emulator.control("POST", "seed", {"count": 260, "seed": 7})["hashes"]
    assert len(seeded) == 260

    listed, pages, offset = [], [], 0
    while True:
        page = list_hashes(client, include_disabled=True, include_expired=True, offset=offset)
        pages.append(len(page))
        listed += page
        offset += len(page)
        if len(page) < 100:
            break

    assert pages == [100, 100, 60]
    assert len(listed) == len(set(listed)) == 260
    assert listed == seeded
    tail = list_hashes(client, include_disabled=True, include_expired=True, offset=250)
    assert tail == seeded[250:]
    assert list_hashes(client, include_disabled=True, include_expired=True, offset=260) == []


def test_list_by_workspace_id(emulator, client):
    home = client.api_keys.create(name="home").data
    other_workspace = str(uuid.uuid4())
    seeded = emulator.control(
        "POST", "seed", {"count": 5, "seed": 11, "workspace_id": other_workspace}
    )["hashes"]

    elsewhere = client.api_keys.list(
        workspace_id=other_workspace, include_disabled=True, include_expired=True
    ).data
    assert [key.hash for key in elsewhere] == seeded
    assert all(key.workspace_id == other_workspace for key in elsewhere)

    default = list_hashes(client, include_disabled=True, include_expired=True)
    assert default == [home.hash]
    at_home = list_hashes(
        client, workspace_id=home.workspace_id, include_disabled=True, include_expired=True
    )
    assert at_home == [home.hash]


def test_usage_moves_every_window_and_limit_remaining(emulator, client):
    key = client.api_keys.create(name="spender", limit=20.0, limit_reset="monthly").data
    emulator.record_usage(key.hash, usage=3.5, byok_usage=1.25, requests=7, model="openai/gpt-4o-mini")

    spent = client.api_keys.get(hash=key.hash).data
    assert spent.usage == 3.5
    assert spent.usage_daily == 3.5
    assert spent.usage_weekly == 3.5
    assert spent.usage_monthly == 3.5
    assert spent.byok_usage == 1.25
    assert spent.byok_usage_daily == 1.25
    assert spent.byok_usage_weekly == 1.25
    assert spent.byok_usage_monthly == 1.25
    assert spent.limit_remaining == pytest.approx(16.5)
    assert spent.last_used_at is not None and spent.last_used_at.tzinfo is not None

    counted = client.api_keys.update(hash=key.hash, include_byok_in_limit=True).data
    assert counted.limit_remaining == pytest.approx(15.25)


def test_current_key_metadata_of_the_management_key(emulator, client):
    me = client.api_keys.get_current_key_metadata().data
    raw = emulator.raw_get("key", emulator.management_key)["data"]
    assert me.is_management_key is True
    assert me.is_provisioning_key is True
    assert me.label == raw["label"]
    assert me.limit == raw["limit"]
    assert me.usage == raw["usage"]
    assert me.is_free_tier == raw["is_free_tier"]
    assert me.workspace_id == raw["workspace_id"]
    assert me.rate_limit.requests == raw["rate_limit"]["requests"]
    regions = [getattr(region, "value", region) for region in me.allowed_data_regions]
    assert regions == raw["allowed_data_regions"]
    assert me.free_model_daily_requests.limit == raw["free_model_daily_requests"]["limit"]
    assert len(me.budgets) == len(raw["budgets"])


def test_current_key_metadata_of_a_created_inference_key(emulator, client):
    expires = (emulator_now(emulator) + timedelta(days=30)).replace(microsecond=0)
    created = client.api_keys.create(
        name="inference", limit=20.0, limit_reset="monthly", expires_at=expires
    )
    emulator.record_usage(created.data.hash, usage=2.0, byok_usage=0.5, requests=3)

    me = emulator.client(api_key=created.key).api_keys.get_current_key_metadata().data
    assert me.is_management_key is False
    assert me.is_provisioning_key is False
    assert me.label == created.data.label
    assert me.limit == 20.0
    assert me.limit_remaining == pytest.approx(18.0)
    assert me.limit_reset == "monthly"
    assert me.include_byok_in_limit is False
    assert me.usage == 2.0
    assert me.usage_daily == 2.0
    assert me.usage_monthly == 2.0
    assert me.byok_usage == 0.5
    assert me.expires_at == expires
    assert me.workspace_id == created.data.workspace_id
    assert isinstance(me.budgets, list)
    for budget in me.budgets:
        assert budget.limit_usd >= budget.spend_usd >= 0


def test_update_workspace_id_moves_the_key_and_keeps_its_secret(emulator, client):
    created = client.api_keys.create(name="mover")
    other_workspace = str(uuid.uuid4())
    emulator.control("POST", "seed", {"count": 1, "seed": 3, "workspace_id": other_workspace})

    moved = client.api_keys.update(hash=created.data.hash, workspace_id=other_workspace).data
    assert moved.hash == created.data.hash
    assert moved.workspace_id == other_workspace
    assert created.data.hash not in list_hashes(client, include_disabled=True, include_expired=True)
    assert created.data.hash in list_hashes(
        client, workspace_id=other_workspace, include_disabled=True, include_expired=True
    )
    me = emulator.client(api_key=created.key).api_keys.get_current_key_metadata().data
    assert me.workspace_id == other_workspace
