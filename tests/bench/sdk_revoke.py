"""The peer of `cargo xtask bench revoke`: the official OpenRouter Python SDK (openrouter 1.3.84)
doing an emergency revoke the way a script would: list every key (paged), disable each in turn, then
delete each in turn. The SDK's defaults are kept: it does not retry a 429, so every one is a failed
key, counted here.

Usage: KEYWARD_BENCH_KEY=sk-or-v1-... sdk_revoke.py --base-url URL
The last stdout line is JSON:
{"disable_ms": ..., "delete_ms": ..., "keys": N, "disable_failed": F, "delete_failed": G}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from openrouter import OpenRouter

PAGE_SIZE = 100


def list_keys(client: OpenRouter) -> list:
    keys = []
    offset = 0
    while True:
        page = client.api_keys.list(include_disabled=True, include_expired=True, offset=offset)
        keys.extend(page.data)
        if len(page.data) < PAGE_SIZE:
            return keys
        offset += len(page.data)


def each(keys: list, action) -> int:
    failed = 0
    for key in keys:
        try:
            action(key.hash)
        except Exception as error:  # noqa: BLE001 - a script counts what failed and moves on
            failed += 1
            if failed <= 3:
                print(f"failed {key.hash[:12]}: {type(error).__name__}", file=sys.stderr)
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    args = parser.parse_args()
    key = os.environ.get("KEYWARD_BENCH_KEY")
    if not key:
        print("KEYWARD_BENCH_KEY is not set", file=sys.stderr)
        return 2

    with OpenRouter(api_key=key, server_url=args.base_url, timeout_ms=30_000) as client:
        started = time.perf_counter()
        keys = list_keys(client)
        disable_failed = each(keys, lambda h: client.api_keys.update(hash=h, disabled=True))
        disable_ms = (time.perf_counter() - started) * 1000
        print(f"disable: {len(keys)} keys, {disable_failed} failed, {disable_ms:.0f} ms", flush=True)
        started = time.perf_counter()
        delete_failed = each(keys, lambda h: client.api_keys.delete(hash=h))
        delete_ms = (time.perf_counter() - started) * 1000
        print(f"delete: {len(keys)} keys, {delete_failed} failed, {delete_ms:.0f} ms", flush=True)

    print(
        json.dumps(
            {
                "disable_ms": disable_ms,
                "delete_ms": delete_ms,
                "keys": len(keys),
                "disable_failed": disable_failed,
                "delete_failed": delete_failed,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
