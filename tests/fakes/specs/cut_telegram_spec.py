"""Cut the part of the published Bot API description that tests/bot/telegram/test_bot_api_spec.py needs.

Source: ../shared/specs/telegram-bot-api.json (Bot API 10.1, 2026-06-11, PaulSonOfLars/telegram-bot-api-spec
``api.json``, scraped from core.telegram.org/bots/api). Kept: the methods the fake server implements, with
every parameter; every type a parameter can carry, with all its fields, and the types under them (so any
object the desk sends can be checked field by field); the types the answers carry (Update, Message, User,
CallbackQuery, ResponseParameters…), with all their fields and the types under their required fields.
Descriptions are dropped, links kept. Run from the repository root:

    .venv/bin/python -m tests.fakes.specs.cut_telegram_spec ../shared/specs/telegram-bot-api.json
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.fakes.telegram_server import METHODS

OUT = Path(__file__).with_name("telegram-bot-api.subset.json")
ANSWER_ROOTS = ("Update", "Message", "User", "CallbackQuery", "MaybeInaccessibleMessage", "ResponseParameters")


def type_names(types: Iterable[str], known: dict[str, Any]) -> list[str]:
    """The object types named in a list of type strings (``Array of Array of X`` → ``X``)."""
    bare = (re.sub(r"^(Array of )+", "", t) for t in types)
    return [name for name in bare if name in known]


def closure(roots: Iterable[str], known: dict[str, Any], *, required_only: bool) -> set[str]:
    """The roots and every type reachable through their subtypes and (required) fields."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += type_names(known[name].get("subtypes", []), known)
        for field in known[name].get("fields", []):
            if field["required"] or not required_only:
                todo += type_names(field["types"], known)
    return seen


def cut(spec: dict[str, Any]) -> dict[str, Any]:
    """The subset, descriptions dropped."""
    known, methods = spec["types"], {name: spec["methods"][name] for name in sorted(METHODS)}
    sent = {t for m in methods.values() for f in m.get("fields", []) for t in type_names(f["types"], known)}
    answered = {t for m in methods.values() for t in type_names(m["returns"], known)} | set(ANSWER_ROOTS)
    names = closure(sent, known, required_only=False) | closure(answered, known, required_only=True)
    return {"version": spec["version"], "release_date": spec["release_date"],
            "source": "../shared/specs/telegram-bot-api.json, cut by tests/fakes/specs/cut_telegram_spec.py",
            "methods": {name: _bare(m) for name, m in methods.items()},
            "types": {name: _bare(known[name]) for name in sorted(names)}}


def _bare(entry: dict[str, Any]) -> dict[str, Any]:
    kept = {key: value for key, value in entry.items() if key != "description"}
    if "fields" in kept:
        kept["fields"] = [{k: v for k, v in f.items() if k != "description"} for f in kept["fields"]]
    return kept


if __name__ == "__main__":
    source = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    OUT.write_text(json.dumps(cut(source), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
