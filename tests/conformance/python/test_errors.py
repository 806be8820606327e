"""Every documented error, as the official Python SDK (openrouter 1.3.84) raises it from the
emulator's answers: the typed exception where the operation declares the status, the generic
`OpenRouterDefaultError` where it does not (reference §4 tables), with code and message intact."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Callable

import pytest
from openrouter import errors

from conftest import UNKNOWN_HASH

TYPED = {
    400: errors.BadRequestResponseError,
    401: errors.UnauthorizedResponseError,
    403: errors.ForbiddenResponseError,
    404: errors.NotFoundResponseError,
    429: errors.TooManyRequestsResponseError,
    500: errors.InternalServerResponseError,
}

# name -> (call with a client and an existing key's hash, statuses the SDK declares for it)
OPERATIONS: dict[str, tuple[Callable, set[int]]] = {
    "list": (lambda c, h: c.api_keys.list(), {400, 401, 404, 429, 500}),
    "create": (lambda c, h: c.api_keys.create(name="made"), {400, 401, 403, 429, 500}),
    "get": (lambda c, h: c.api_keys.get(hash=h), {401, 404, 429, 500}),
    "update": (lambda c, h: c.api_keys.update(hash=h, name="renamed"), {400, 401, 403, 404, 409, 429, 500}),
    "delete": (lambda c, h: c.api_keys.delete(hash=h), {401, 404, 429, 500}),
    "get_current_key_metadata": (lambda c, h: c.api_keys.get_current_key_metadata(), {401, 500}),
    "get_credits": (lambda c, h: c.credits.get_credits(), {401, 403, 500}),
    "get_user_activity": (lambda c, h: c.analytics.get_user_activity(), {400, 401, 403, 404, 500}),
}
MANAGEMENT_ONLY = [name for name in OPERATIONS if name != "get_current_key_metadata"]


def expect_error(operation: str, status: int, call: Callable[[], object], message: str | None = None):
    """Runs `call`, which must fail with `status`, raised as the class the SDK declares for it."""
    with pytest.raises(errors.OpenRouterError) as caught:
        call()
    error = caught.value
    declared = OPERATIONS[operation][1]
    expected = TYPED[status] if status in declared else errors.OpenRouterDefaultError
    assert type(error) is expected, f"{operation} {status}: got {type(error).__name__}: {error}"
    assert error.status_code == status
    body = json.loads(error.body)
    assert body["error"]["code"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if message is not None:
        assert body["error"]["message"] == message
    if expected is not errors.OpenRouterDefaultError:
        assert error.data.error.code == status
        assert error.data.error.message == body["error"]["message"]
        assert str(error) == body["error"]["message"]
    return error


@pytest.fixture
def key_hash(client) -> str:
    return client.api_keys.create(name="existing").data.hash


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_401_without_a_key(emulator, key_hash, operation):
    anonymous = emulator.client(api_key=None)
    expect_error(
        operation,
        401,
        lambda: OPERATIONS[operation][0](anonymous, key_hash),
        "Missing Authentication header",
    )


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_401_with_an_unknown_key(emulator, key_hash, operation):
    stranger = emulator.client(api_key="sk-or-v1-" + "ab" * 32)
    expect_error(
        operation,
        401,
        lambda: OPERATIONS[operation][0](stranger, key_hash),
        "Invalid API key",
    )


@pytest.mark.parametrize("operation", MANAGEMENT_ONLY)
def test_403_for_an_inference_key_on_management_operations(emulator, client, operation):
    created = client.api_keys.create(name="inference-only")
    inference = emulator.client(api_key=created.key)
    expect_error(
        operation,
        403,
        lambda: OPERATIONS[operation][0](inference, created.data.hash),
        "Only management keys can perform this operation",
    )
    # The refused call changed nothing.
    assert client.api_keys.get(hash=created.data.hash).data.name == "inference-only"


@pytest.mark.parametrize("operation", ["get", "update", "delete"])
def test_404_for_an_unknown_hash(client, operation):
    expect_error(
        operation,
        404,
        lambda: OPERATIONS[operation][0](client, UNKNOWN_HASH),
        "Key not found",
    )


def test_400_create_with_an_empty_name(client):
    expect_error("create", 400, lambda: client.api_keys.create(name=""))


def test_400_create_with_an_expiry_without_a_zone(client):
    # The SDK sends a naive datetime as it is, without a zone; the API wants UTC.
    naive = datetime(2031, 1, 2, 3, 4, 5)
    expect_error("create", 400, lambda: client.api_keys.create(name="k", expires_at=naive))
    assert client.api_keys.list(include_disabled=True, include_expired=True).data == []


def test_400_create_with_a_negative_limit(client):
    expect_error("create", 400, lambda: client.api_keys.create(name="k", limit=-5.0))


def test_400_update_without_fields(client, key_hash):
    expect_error(
        "update", 400, lambda: client.api_keys.update(hash=key_hash), "No update fields provided"
    )


def test_400_list_with_a_negative_offset(client):
    expect_error("list", 400, lambda: client.api_keys.list(offset=-1))


def test_400_activity_with_a_malformed_date(client):
    expect_error(
        "get_user_activity",
        400,
        lambda: client.analytics.get_user_activity(request={"date_": "yesterday"}),
    )


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_429_with_a_readable_retry_after(emulator, client, key_hash, operation):
    emulator.set_faults(rate_limit={"next": 1, "retry_after_seconds": 2})
    error = expect_error(
        operation, 429, lambda: OPERATIONS[operation][0](client, key_hash), "Rate limit exceeded"
    )
    assert error.headers.get("retry-after") == "2"
    # The fault was for one request only: the key is untouched and the API answers again.
    assert client.api_keys.get(hash=key_hash).data.name == "existing"


def test_429_carries_retry_after_ms_when_configured(emulator, client):
    emulator.set_faults(rate_limit={"next": 1, "retry_after_seconds": 1, "retry_after_ms": 1500})
    error = expect_error("list", 429, lambda: client.api_keys.list(), "Rate limit exceeded")
    assert error.headers.get("retry-after") == "1"
    assert error.headers.get("retry-after-ms") == "1500"


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_500_from_an_injected_server_error(emulator, client, key_hash, operation):
    emulator.set_faults(server_error={"next": 1, "status": 500})
    expect_error(
        operation, 500, lambda: OPERATIONS[operation][0](client, key_hash), "Internal Server Error"
    )
    assert client.api_keys.get(hash=key_hash).data.name == "existing"


def test_429_storm_lasts_until_the_faults_are_cleared(emulator, client):
    emulator.set_faults(rate_limit={"for_seconds": 30, "retry_after_seconds": 30})
    for _ in range(3):
        expect_error("list", 429, lambda: client.api_keys.list(), "Rate limit exceeded")
    emulator.control("DELETE", "faults")
    assert client.api_keys.list().data == []
