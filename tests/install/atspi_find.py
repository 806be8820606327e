#!/usr/bin/python3
"""Looks for text in an application's accessibility tree over AT-SPI, as a screen reader reads it.

The installed app has no test hooks (no WebDriver, no debug endpoints): what its web content shows
is read from the accessibility tree WebKitGTK exposes on the session's accessibility bus.

Usage: atspi_find.py APP_NAME TIMEOUT_SECONDS TEXT...
Polls until every TEXT is the name (or, for text objects, the content) of some node under the
application whose AT-SPI name is APP_NAME, or the timeout passes. Prints one JSON object: found
(TEXT -> [role of each node]), missing, the applications on the bus, and, when something is missing,
a sample of the nodes it did see. Exit status 0 when everything was found, 1 otherwise, 2 on misuse.
Runs with the system Python (python3-gi, gir1.2-atspi-2.0), not the tests' venv.
"""

import json
import sys
import time

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi  # noqa: E402

# Web pages are deep (document > sections > ...); a person's screen is far smaller than this.
MAX_NODES = 5000
MAX_DEPTH = 60


def node_texts(node):
    """The strings a screen reader would announce for a node: its name and, for text, its content."""
    texts = []
    try:
        name = node.get_name()
        if name:
            texts.append(name)
    except Exception:  # A node that went away while we walked: nothing to read.
        return texts
    try:
        text = node.get_text_iface()
        if text is not None:
            content = Atspi.Text.get_text(text, 0, Atspi.Text.get_character_count(text))
            if content:
                texts.append(content)
    except Exception:
        pass
    return texts


def walk(app):
    """(role, text) for every node under app, breadth first, bounded."""
    seen = []
    queue = [(app, 0)]
    while queue and len(seen) < MAX_NODES:
        node, depth = queue.pop(0)
        try:
            role = node.get_role_name()
        except Exception:
            continue
        for text in node_texts(node):
            seen.append((role, " ".join(text.split())))
        if depth >= MAX_DEPTH:
            continue
        try:
            count = node.get_child_count()
        except Exception:
            continue
        for i in range(count):
            try:
                child = node.get_child_at_index(i)
            except Exception:
                continue
            if child is not None:
                queue.append((child, depth + 1))
    return seen


def applications():
    desktop = Atspi.get_desktop(0)
    apps = []
    for i in range(desktop.get_child_count()):
        app = desktop.get_child_at_index(i)
        if app is not None:
            apps.append(app)
    return apps


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    app_name, timeout, wanted = argv[1], float(argv[2]), argv[3:]
    deadline = time.monotonic() + timeout
    while True:
        apps = applications()
        names = []
        seen = []
        for app in apps:
            try:
                name = app.get_name()
            except Exception:
                continue
            names.append(name)
            if name.lower() == app_name.lower():
                seen.extend(walk(app))
        found = {w: sorted({role for role, text in seen if w in text}) for w in wanted}
        missing = [w for w, roles in found.items() if not roles]
        if not missing or time.monotonic() > deadline:
            result = {
                "found": {w: roles for w, roles in found.items() if roles},
                "missing": missing,
                "applications": names,
                "nodes": len(seen),
            }
            if missing:
                result["sample"] = seen[:80]
            print(json.dumps(result))
            return 0 if not missing else 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
