"""Cut from Alpaca's OpenAPI documents the operations the fake Alpaca server serves, for the spec tests.

Usage, from the repository root, with the full documents (``../shared/specs/`` on the team's machines;
Alpaca publishes them, and the wheel alpaca-mcp-server ships them in ``alpaca_mcp_server/specs/``)::

    python -m tests.fakes.specs.cut_alpaca_specs ../shared/specs/alpaca-trading-api.json \\
        ../shared/specs/alpaca-market-data-api.json

For each document it writes ``<name>.subset.json`` beside this file: the operations of
``tests.fakes.alpaca_server.ROUTES`` the document defines (with their path-level parameters), every
``#/components/...`` object those reference, transitively, the security schemes, and ``info.x-cut``
(the source file's name and SHA-256, and this script). Examples are left out: no test reads them and
they are most of the bytes. Re-run it after adding a route to the fake or taking a new version of the
documents; a route that no document given defines is named on stderr, and exits 1.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
KEPT = ("openapi", "info", "servers", "security")
EXAMPLE_KEYS = frozenset({"example", "examples"})


def _strip_examples(node: Any, parent: str = "") -> Any:
    """``node`` without example values (a schema property that happens to be named ``example`` stays)."""
    if isinstance(node, dict):
        return {key: _strip_examples(value, key) for key, value in node.items()
                if parent == "properties" or key not in EXAMPLE_KEYS}
    if isinstance(node, list):
        return [_strip_examples(item) for item in node]
    return node


def _refs(node: Any) -> Iterable[str]:
    """Every local ``$ref`` inside ``node``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _pointer(ref: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in ref.removeprefix("#/").split("/")]


def cut(document: dict[str, Any], routes: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The part of ``document`` that serves ``routes`` (method, path template), closed under ``$ref``."""
    paths: dict[str, Any] = {}
    for method, template in sorted(routes, key=lambda route: (route[1], route[0])):
        item = document["paths"][template]
        kept = paths.setdefault(template, {k: v for k, v in item.items() if k == "parameters"})
        kept[method.lower()] = item[method.lower()]
    subset: dict[str, Any] = {key: copy.deepcopy(document[key]) for key in KEPT if key in document}
    subset["paths"] = _strip_examples(paths)
    schemes = document.get("components", {}).get("securitySchemes")
    subset["components"] = {"securitySchemes": copy.deepcopy(schemes)} if schemes else {}
    pending = list(_refs(subset["paths"]))
    while pending:
        *parents, name = _pointer(pending.pop())
        source, target = document, subset
        for part in parents:
            source, target = source[part], target.setdefault(part, {})
        if name not in target:
            target[name] = _strip_examples(source[name])
            pending.extend(_refs(target[name]))
    return subset


def routes_in(document: dict[str, Any], routes: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The routes that ``document`` defines as operations."""
    return {(method, template) for method, template in routes
            if method.lower() in document.get("paths", {}).get(template, {})}


def main(argv: list[str]) -> int:
    """Write one subset per document named in ``argv``; 1 when a route of the fake is in none of them."""
    if not argv:
        sys.stderr.write(__doc__ or "")
        return 2
    sys.path.insert(0, str(ROOT))  # the fake's route table is the list of what to keep
    from tests.fakes.alpaca_server import ROUTES

    missing = set(ROUTES)
    for name in argv:
        source = Path(name)
        raw = source.read_bytes()
        document = json.loads(raw)
        found = routes_in(document, ROUTES)
        missing -= found
        subset = cut(document, found)
        subset["info"]["x-cut"] = {"source": source.name, "sha256": hashlib.sha256(raw).hexdigest(),
                                   "by": "tests/fakes/specs/cut_alpaca_specs.py", "operations": len(found)}
        out = HERE / f"{source.stem}.subset.json"
        out.write_text(json.dumps(subset, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        sys.stderr.write(f"{out.relative_to(ROOT)}: {len(found)} operations, "
                         f"{sum(len(v) for v in subset['components'].values())} components\n")
    for method, template in sorted(missing):
        sys.stderr.write(f"not defined by any document given: {method} {template}\n")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
