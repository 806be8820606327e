"""Chat completions through the official Python SDK (openrouter 1.3.84): `chat.send` parses the
emulator's answer, and what a key's requests meet arrives as the SDK's typed errors — 402 for a key
over its limit, 403 for a model its guardrail forbids or a BYOK credential that does not admit it."""

from __future__ import annotations

import pytest
from openrouter import errors

MODEL = "openai/gpt-5-mini"
OTHER_MODEL = "anthropic/claude-sonnet-4"
MESSAGES = [{"role": "user", "content": "Say hello in five words."}]


def new_key(client, **fields):
    created = client.api_keys.create(name=fields.pop("name", "chat"), **fields)
    return created.key, created.data.hash


def test_send_parses_the_completion_and_charges_the_key(emulator, client):
    secret, key_hash = new_key(client)
    result = emulator.client(secret).chat.send(model=MODEL, messages=MESSAGES)
    assert result.object == "chat.completion"
    assert result.model == MODEL
    assert result.choices[0].message.role == "assistant"
    assert isinstance(result.choices[0].message.content, str) and result.choices[0].message.content
    assert result.choices[0].finish_reason == "stop"
    assert result.usage is not None
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert result.usage.cost is not None and result.usage.cost > 0
    assert result.usage.is_byok is False
    assert client.api_keys.get(hash=key_hash).data.usage == pytest.approx(result.usage.cost)


def test_a_key_over_its_limit_gets_402(emulator, client):
    secret, key_hash = new_key(client, limit=0.5)
    emulator.record_usage(key_hash, usage=0.5)
    with pytest.raises(errors.PaymentRequiredResponseError) as raised:
        emulator.client(secret).chat.send(model=MODEL, messages=MESSAGES)
    assert raised.value.status_code == 402
    assert "Key limit exceeded" in raised.value.data.error.message


def test_a_guardrail_forbidding_the_model_gets_403(emulator, client):
    secret, key_hash = new_key(client)
    guardrail = client.guardrails.create(name="Only mini", allowed_models=[MODEL]).data
    client.guardrails.bulk_assign_keys(id=guardrail.id, key_hashes=[key_hash])
    sdk = emulator.client(secret)
    assert sdk.chat.send(model=MODEL, messages=MESSAGES).model == MODEL
    with pytest.raises(errors.ForbiddenResponseError) as raised:
        sdk.chat.send(model=OTHER_MODEL, messages=MESSAGES)
    assert raised.value.status_code == 403
    assert 'Guardrail "Only mini"' in raised.value.data.error.message


def test_byok_routing_admits_the_named_key_only(emulator, client):
    secret, key_hash = new_key(client, name="named")
    outsider, _ = new_key(client, name="outsider")
    client.byok.create(
        provider="openai", key="sk-proj-conformance-chat-AbCd", allowed_api_key_hashes=[key_hash]
    )
    routed = emulator.client(secret).chat.send(
        model=MODEL, messages=MESSAGES, provider={"only": ["openai"]}
    )
    assert routed.usage.is_byok is True
    with pytest.raises(errors.ForbiddenResponseError):
        emulator.client(outsider).chat.send(
            model=MODEL, messages=MESSAGES, provider={"only": ["openai"]}
        )


def test_unknown_and_disabled_keys_get_401(emulator, client):
    with pytest.raises(errors.UnauthorizedResponseError):
        emulator.client("sk-or-v1-" + "0" * 64).chat.send(model=MODEL, messages=MESSAGES)
    secret, key_hash = new_key(client)
    client.api_keys.update(hash=key_hash, disabled=True)
    with pytest.raises(errors.UnauthorizedResponseError) as raised:
        emulator.client(secret).chat.send(model=MODEL, messages=MESSAGES)
    assert raised.value.data.error.message == "API key is disabled"
