"""Workspaces (CRUD, members, budgets) and organization members through the official Python SDK:
every answer parsed, the parsed values the ones sent, and the documented errors raised as the
classes the SDK declares."""

from __future__ import annotations

import json
import uuid

import pytest
from openrouter import errors

DEFAULT_WORKSPACE_ID = "0df9e665-d932-5740-b2c7-b52af166bc11"


def expect_status(status: int, call, message_part: str = ""):
    with pytest.raises(errors.OpenRouterError) as caught:
        call()
    error = caught.value
    assert error.status_code == status, f"{type(error).__name__}: {error}"
    body = json.loads(error.body)
    assert body["error"]["code"] == status
    assert message_part in body["error"]["message"]
    return error


def add_org_member(emulator, user_id: str, role: str = "org:member") -> None:
    emulator.control(
        "POST",
        "organization/members",
        {"id": user_id, "email": f"{user_id}@x.test", "first_name": "F", "last_name": None, "role": role},
    )


def all_workspaces(client) -> list:
    page = client.workspaces.list(limit=100)
    return list(page.result.data)


def test_default_workspace_is_listed_and_parsed(client):
    page = client.workspaces.list()
    assert page.result.total_count == 1
    default = page.result.data[0]
    assert default.id == DEFAULT_WORKSPACE_ID
    assert default.slug == "default"
    assert isinstance(default.name, str) and default.name
    uuid.UUID(default.default_guardrail_id)
    assert default.include_byok_in_budgets is False
    assert default.io_logging_sampling_rate == 1
    assert client.workspaces.get(id="default").data.id == DEFAULT_WORKSPACE_ID


def test_create_get_update_delete(client):
    created = client.workspaces.create(
        name="Research",
        slug="research",
        description="evals",
        default_text_model="openai/gpt-4.1",
        io_logging_sampling_rate=0.5,
        is_observability_broadcast_enabled=True,
    ).data
    uuid.UUID(created.id)
    assert (created.name, created.slug, created.description) == ("Research", "research", "evals")
    assert created.default_text_model == "openai/gpt-4.1"
    assert created.io_logging_sampling_rate == 0.5
    assert created.is_observability_broadcast_enabled is True
    assert created.updated_at is None

    assert client.workspaces.get(id=created.id).data.slug == "research"
    updated = client.workspaces.update(id="research", name="R&D", slug="rnd", description=None).data
    assert (updated.id, updated.name, updated.slug, updated.description) == (created.id, "R&D", "rnd", None)
    assert updated.updated_at is not None
    assert [w.slug for w in all_workspaces(client)] == ["default", "rnd"]

    assert client.workspaces.delete(id=created.id).DELETED is True
    expect_status(404, lambda: client.workspaces.get(id=created.id), "Workspace not found")
    expect_status(404, lambda: client.workspaces.delete(id=created.id))


def test_workspace_errors(client):
    client.workspaces.create(name="Taken", slug="taken")
    expect_status(400, lambda: client.workspaces.create(name="Other", slug="taken"), "already used")
    expect_status(400, lambda: client.workspaces.create(name="Bad", slug="Not-A-Slug"), '"slug"')
    expect_status(400, lambda: client.workspaces.create(name="", slug="ok"), '"name"')
    expect_status(404, lambda: client.workspaces.update(id="nope", name="x"))
    # The emulator keeps the default workspace whatever the SDK's confirmation flag says.
    expect_status(
        400,
        lambda: client.workspaces.delete(id="default", confirm_default_workspace_deletion=True),
        "default workspace",
    )
    holder = client.workspaces.create(name="Holder", slug="holder").data
    client.api_keys.create(name="held", workspace_id=holder.id)
    expect_status(400, lambda: client.workspaces.delete(id=holder.id), "still holds")
    expect_status(400, lambda: client.api_keys.create(name="x", workspace_id=str(uuid.uuid4())), "names no workspace")


def test_listing_pages_through_the_sdk(client):
    for index in range(5):
        client.workspaces.create(name=f"W{index}", slug=f"w{index}")
    page = client.workspaces.list(limit=2)
    seen = []
    while page is not None:
        assert page.result.total_count == 6
        seen.extend(w.slug for w in page.result.data)
        page = page.next()
    assert seen == ["default", "w0", "w1", "w2", "w3", "w4"]


def test_members_add_list_remove(emulator, client):
    add_org_member(emulator, "user_admin", "org:admin")
    add_org_member(emulator, "user_dev")
    org = client.organization.list_members().result
    assert org.total_count == 3
    dev = next(m for m in org.data if m.id == "user_dev")
    assert (dev.email, dev.first_name, dev.last_name, dev.role) == ("user_dev@x.test", "F", None, "org:member")

    workspace = client.workspaces.create(name="Team", slug="team").data
    added = client.workspaces.bulk_add_members(id=workspace.id, user_ids=["user_admin", "user_dev"])
    assert added.added_count == 2
    assert [(m.user_id, m.role) for m in added.data] == [("user_admin", "admin"), ("user_dev", "member")]
    assert all(m.workspace_id == workspace.id for m in added.data)

    listed = client.workspaces.list_members(id="team").result
    assert listed.total_count == 2
    assert [m.id for m in listed.data] == [m.id for m in added.data]

    expect_status(400, lambda: client.workspaces.bulk_add_members(id="team", user_ids=["stranger"]), "not a member")
    expect_status(400, lambda: client.workspaces.bulk_add_members(id="team", user_ids=[]), '"user_ids"')
    expect_status(404, lambda: client.workspaces.list_members(id="nope"))

    removed = client.workspaces.bulk_remove_members(id="team", user_ids=["user_admin", "ghost"])
    assert removed.removed_count == 1
    assert [m.user_id for m in client.workspaces.list_members(id="team").result.data] == ["user_dev"]


def test_budgets_per_interval(client):
    none = client.workspaces.list_budgets(workspace_ref="default")
    assert none.data == [] and none.include_byok_in_budgets is False
    expect_status(404, lambda: client.workspaces.get_budget(workspace_ref="default", interval="monthly"))

    monthly = client.workspaces.set_budget(
        workspace_ref="default", interval="monthly", limit_usd=100, include_byok_in_budgets=True
    )
    assert monthly.data.limit_usd == 100
    assert monthly.data.reset_interval == "monthly"
    assert monthly.data.workspace_id == DEFAULT_WORKSPACE_ID
    assert monthly.include_byok_in_budgets is True
    lifetime = client.workspaces.set_budget(workspace_ref="default", interval="lifetime", limit_usd=400)
    assert lifetime.data.reset_interval is None
    assert lifetime.include_byok_in_budgets is True

    expect_status(
        400,
        lambda: client.workspaces.set_budget(workspace_ref="default", interval="daily", limit_usd=150),
        "strictly decrease",
    )
    expect_status(400, lambda: client.workspaces.set_budget(workspace_ref="default", interval="daily", limit_usd=0))
    expect_status(404, lambda: client.workspaces.set_budget(workspace_ref="nope", interval="daily", limit_usd=1))

    got = client.workspaces.get_budget(workspace_ref="default", interval="monthly")
    assert got.data.id == monthly.data.id and got.data.limit_usd == 100
    assert [b.reset_interval for b in client.workspaces.list_budgets(workspace_ref="default").data] == ["monthly", None]

    assert client.workspaces.delete_budget(workspace_ref="default", interval="monthly").DELETED is True
    assert client.workspaces.delete_budget(workspace_ref="default", interval="monthly").DELETED is True
    expect_status(404, lambda: client.workspaces.get_budget(workspace_ref="default", interval="monthly"))


@pytest.mark.parametrize("no_key", [False, True])
def test_management_key_required(emulator, client, no_key):
    key = None if no_key else client.api_keys.create(name="inference").key
    other = emulator.client(key)
    status = 401 if no_key else 403
    for call in [
        lambda: other.workspaces.list(),
        lambda: other.workspaces.create(name="x", slug="x"),
        lambda: other.workspaces.get(id="default"),
        lambda: other.workspaces.list_members(id="default"),
        lambda: other.workspaces.list_budgets(workspace_ref="default"),
        lambda: other.organization.list_members(),
    ]:
        expect_status(status, call)
