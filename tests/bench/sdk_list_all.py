"""The peer in `cargo xtask bench`: the official OpenRouter Python SDK (openrouter 1.3.84) listing
every key of every workspace the way a script would: the workspaces, then each workspace's keys one
page after another until a short page.

Usage: KEYWARD_BENCH_KEY=sk-or-v1-... sdk_list_all.py --base-url URL [--runs R] [--hashes-out FILE]
The last stdout line is JSON: {"runs_ms": [...], "keys": N}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from openrouter import OpenRouter

PAGE_SIZE = 100


def list_workspace(client: OpenRouter, workspace_id: str) -> list:
    keys = []
    offset = 0
    while True:
        page = client.api_keys.list(
            include_disabled=True, include_expired=True, offset=offset, workspace_id=workspace_id
        )
        keys.extend(page.data)
        if len(page.data) < PAGE_SIZE:
            return keys
        offset += len(page.data)


def list_all(client: OpenRouter) -> list:
    workspaces = []
    page = client.workspaces.list(limit=PAGE_SIZE)
    while page is not None:
        workspaces.extend(page.result.data)
        page = page.next()
    keys = []
    for workspace in workspaces:
        keys.extend(list_workspace(client, workspace.id))
    return keys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hashes-out")
    args = parser.parse_args()
    key = os.environ.get("KEYWARD_BENCH_KEY")
    if not key:
        print("KEYWARD_BENCH_KEY is not set", file=sys.stderr)
        return 2

    # Retries off only so a broken emulator fails fast instead of retrying for an hour; on the
    # happy path they never come into play.
    with OpenRouter(api_key=key, server_url=args.base_url, retry_config=None, timeout_ms=30_000) as client:
        runs_ms = []
        keys = []
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            keys = list_all(client)
            elapsed_ms = (time.perf_counter() - started) * 1000
            print(f"run {run}: {len(keys)} keys in {elapsed_ms:.0f} ms", flush=True)
            runs_ms.append(elapsed_ms)

    if args.hashes_out:
        with open(args.hashes_out, "w", encoding="utf-8") as out:
            out.writelines(f"{key.hash}\n" for key in keys)
    print(json.dumps({"runs_ms": runs_ms, "keys": len(keys)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
