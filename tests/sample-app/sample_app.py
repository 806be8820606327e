#!/usr/bin/env python3
"""A small app that uses an OpenRouter key the way a real service does, to measure rotation downtime.

It reads OPENROUTER_API_KEY from a `.env` file (re-read whenever the file changes, as a service
that watches its secrets would), sends chat completions one after another to a model through a
chosen provider (`provider.only`, so BYOK-routed when the workspace has a credential for it), and
counts requests and failures. On SIGTERM or SIGINT it prints `requests: N, failed: F` and exits
with 0 when nothing failed, 1 otherwise. Every 401/402/403 is reported on stderr as it happens.

Python standard library only. Usage:

    python3 sample_app.py --env-file app.env --base-url http://127.0.0.1:PORT/api/v1 \\
        --model openai/gpt-5-mini --provider openai [--interval 0.02]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from typing import Optional, Tuple

VARIABLE = "OPENROUTER_API_KEY"


def read_key(path: str) -> Optional[str]:
    """The variable's value in a `.env` file (`KEY=value`, optional quotes, `#` comments)."""
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if line.startswith("export "):
                    line = line[len("export "):].lstrip()
                name, sep, value = line.partition("=")
                if sep and name.strip() == VARIABLE:
                    return value.strip().strip('"').strip("'") or None
    except OSError:
        return None
    return None


class KeySource:
    """The key from the `.env` file, re-read when the file changes (an atomic replace gives it a new
    inode; an in-place write a new mtime or size)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.stamp: Optional[Tuple[int, int, int]] = None
        self.key: Optional[str] = None

    def current(self) -> Optional[str]:
        try:
            info = os.stat(self.path)
            stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        except OSError:
            return self.key
        if stamp != self.stamp:
            key = read_key(self.path)
            if key is not None:
                self.key = key
                self.stamp = stamp
        return self.key


def complete(base_url: str, key: str, model: str, provider: str) -> int:
    """One chat completion; the HTTP status (0 for a network error)."""
    body = json.dumps(
        {
            "model": model,
            "messages": [{"role": "user", "content": "Say hello in five words."}],
            "provider": {"only": [provider]},
        }
    ).encode()
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/chat/completions",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.loads(response.read().decode())
            return response.status
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        print(f"HTTP {error.code}: {detail}", file=sys.stderr, flush=True)
        return error.code
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f"request failed: {error}", file=sys.stderr, flush=True)
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--provider", required=True)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between requests")
    args = parser.parse_args()

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    source = KeySource(args.env_file)
    requests = failed = 0
    while not stopping:
        key = source.current()
        if key is None:
            print(f"no {VARIABLE} in {args.env_file}", file=sys.stderr, flush=True)
            failed += 1
        else:
            status = complete(args.base_url, key, args.model, args.provider)
            requests += 1
            if status != 200:
                failed += 1
        time.sleep(args.interval)
    print(f"requests: {requests}, failed: {failed}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
