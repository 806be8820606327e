"""The emulator under test, one process per test module, and clients of the official Python SDK.

The emulator binary comes from KEYWARD_EMULATOR_BIN (`cargo xtask test` builds it and sets it). Each
test starts from an empty emulator (`POST /_emulator/reset`), so tests never see each other's keys.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import urllib.error
import urllib.request
from typing import Any, Optional

import pytest
from openrouter import OpenRouter

MANAGEMENT_KEY = "sk-or-v1-conformance-python-management"
UNKNOWN_HASH = "0" * 64


class Emulator:
    """A running emulator process and its `/_emulator` control API."""

    def __init__(self, binary: str) -> None:
        self.process = subprocess.Popen(
            [binary, "--port", "0", "--management-key", MANAGEMENT_KEY],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        first_line = self.process.stdout.readline()
        try:
            endpoints = json.loads(first_line)
        except json.JSONDecodeError:
            self.stop()
            raise RuntimeError(f"the emulator's first line is not JSON: {first_line!r}")
        self.base_url: str = endpoints["base_url"]
        self.control_url: str = endpoints["control_url"].rstrip("/")
        self.management_key: str = endpoints["management_key"]
        self._clients: dict[Optional[str], OpenRouter] = {}
        # Keep reading stdout so the emulator never blocks writing to a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for _ in self.process.stdout:
            pass

    def stop(self) -> None:
        for sdk in getattr(self, "_clients", {}).values():
            sdk.__exit__(None, None, None)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def control(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.control_url}/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            raise AssertionError(
                f"{method} /_emulator/{path} answered {error.code}: {error.read().decode()}"
            ) from error
        return json.loads(text) if text.strip() else None

    def client(self, api_key: Optional[str] = "") -> OpenRouter:
        """An SDK client with retries off (the default retries 5xx for an hour) and a timeout.

        `api_key=""` means the management key; `None` means no key at all. Clients are kept per key
        because building one costs the SDK a few hundred milliseconds.
        """
        key = self.management_key if api_key == "" else api_key
        if key not in self._clients:
            self._clients[key] = OpenRouter(
                api_key=key,
                server_url=self.base_url,
                retry_config=None,
                timeout_ms=10_000,
            )
        return self._clients[key]

    def raw_get(self, path: str, api_key: str) -> dict:
        """GET an API path without the SDK, to compare what was sent with what the SDK parsed."""
        request = urllib.request.Request(
            f"{self.base_url}/{path.lstrip('/')}",
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read().decode())

    def step_past_midnight(self) -> None:
        """Usage windows reset at UTC midnight: a test that records spend and reads it back must not
        straddle one, so within 5 minutes of midnight the emulator's clock is moved past it."""
        now = self.control("GET", "clock")["now"]
        hours, minutes = int(now[11:13]), int(now[14:16])
        if hours == 23 and minutes >= 55:
            self.control("POST", "clock", {"advance_seconds": 600})

    def record_usage(self, key_hash: str, **usage: Any) -> dict:
        return self.control("POST", f"keys/{key_hash}/usage", usage)

    def set_faults(self, **faults: Any) -> None:
        self.control("POST", "faults", faults)


@pytest.fixture(scope="module")
def emulator():
    binary = os.environ.get("KEYWARD_EMULATOR_BIN")
    if not binary:
        pytest.fail(
            "KEYWARD_EMULATOR_BIN is not set: run `cargo xtask test --only conformance-python`,"
            " or build the emulator and point the variable at the binary"
        )
    running = Emulator(binary)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh_emulator(emulator, monkeypatch):
    # The SDK falls back to OPENROUTER_API_KEY when no key is given; the no-key tests need it unset.
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    emulator.control("POST", "reset")
    emulator.step_past_midnight()
    yield


@pytest.fixture
def client(emulator):
    return emulator.client()
