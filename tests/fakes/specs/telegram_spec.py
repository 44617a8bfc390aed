"""The Bot API description (telegram-bot-api.subset.json beside this file) and checks of exchanges against it.

The description is not JSON Schema: each method lists its parameters (name, types, required) and
what it returns; each type lists its fields (an abstract type lists its subtypes). A request is
checked as it travels: parameters arrive form-encoded, so a number or a boolean arrives as text
(objects and arrays as JSON, a file as bytes); every parameter must be documented, with a value of
a documented type, and every required one present. An answer is JSON, checked strictly: the
envelope (``ok``, ``result`` or ``error_code`` and ``description``), then the result against the
method's return types, every field documented and every required field present. A type outside the
subset is only checked to be an object. Each check returns its problems as text (empty: conforms).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

SPEC: dict[str, Any] = json.loads(Path(__file__).with_name("telegram-bot-api.subset.json").read_text("utf-8"))
TYPES: dict[str, Any] = SPEC["types"]
ENVELOPE = {"ok", "result", "description", "error_code", "parameters"}


def request_problems(method: str, params: dict[str, Any]) -> list[str]:
    """What in one request the Bot API does not document."""
    if method not in SPEC["methods"]:
        return [f"{method}: not a Bot API method"]
    fields = {f["name"]: f for f in SPEC["methods"][method].get("fields", [])}
    problems = [f"{method}({name}): not a parameter of {method}" for name in params if name not in fields]
    problems += [f"{method}({name}): required, missing" for name, f in fields.items() if f["required"]
                 and name not in params]
    for name, value in params.items():
        if name in fields:
            problems += conforms(value, fields[name]["types"], f"{method}({name})", form=True)
    return problems


def answer_problems(method: str, status: int, answer: dict[str, Any]) -> list[str]:
    """What in one answer the Bot API does not document."""
    problems = [f"{method} answer: {key} is not part of a Bot API response" for key in answer if key not in ENVELOPE]
    if status == 200:
        if answer.get("ok") is not True or "result" not in answer:
            return [*problems, f"{method} answer: 200 without ok=true and a result"]
        return problems + conforms(answer["result"], SPEC["methods"][method]["returns"], f"{method} result")
    described = isinstance(answer.get("description"), str)
    if answer.get("ok") is not False or answer.get("error_code") != status or not described:
        problems.append(f"{method} answer: an error needs ok=false, error_code={status} and a description")
    if "parameters" in answer:
        problems += conforms(answer["parameters"], ["ResponseParameters"], f"{method} parameters")
    return problems


def conforms(value: Any, types: list[str], where: str, *, form: bool = False) -> list[str]:
    """Problems of a value against a list of alternative types (none when one fits)."""
    attempts = [_one(value, kind, where, form) for kind in types]
    return [] if any(not problems for problems in attempts) else attempts[0]


def _one(value: Any, kind: str, where: str, form: bool) -> list[str]:
    if kind.startswith("Array of "):
        if not isinstance(value, list):
            return [f"{where}: {kind} expected, got {type(value).__name__}"]
        return [p for i, item in enumerate(value) for p in _one(item, kind[len("Array of "):], f"{where}[{i}]", False)]
    if kind in SCALARS:
        return [] if SCALARS[kind](value, form) else [f"{where}: {value!r:.60} is not {kind}"]
    if kind not in TYPES:
        return [] if isinstance(value, dict) else [f"{where}: {kind} (an object) expected"]
    return _object(value, kind, where)


def _object(value: Any, kind: str, where: str) -> list[str]:
    spec = TYPES[kind]
    if not isinstance(value, dict):
        return [f"{where}: {kind} (an object) expected, got {type(value).__name__}"]
    if spec.get("subtypes"):
        return conforms(value, spec["subtypes"], where)
    fields = {f["name"]: f for f in spec.get("fields", [])}
    problems = [f"{where}.{name}: not a field of {kind}" for name in value if name not in fields]
    problems += [f"{where}.{name}: required by {kind}, missing" for name, f in fields.items() if f["required"]
                 and name not in value]
    for name, item in value.items():
        if name in fields:
            problems += conforms(item, fields[name]["types"], f"{where}.{name}")
    return problems


def _integer(value: Any, form: bool) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (form and isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None)


def _float(value: Any, form: bool) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return form and isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", value) is not None


SCALARS: dict[str, Callable[[Any, bool], bool]] = {
    "Integer": _integer, "Float": _float,
    "String": lambda value, form: isinstance(value, str),
    "Boolean": lambda value, form: isinstance(value, bool) or (form and value in ("true", "false")),
    "True": lambda value, form: value is True or (form and value == "true"),
    "InputFile": lambda value, form: isinstance(value, bytes),
}
