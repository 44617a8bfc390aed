"""Alpaca's OpenAPI documents (the subsets beside this file) and checks of recorded exchanges against them.

The subsets are OpenAPI 3.1, so their schemas are JSON Schema 2020-12: ``jsonschema`` validates them
through one ``referencing`` registry (``$ref``s across the document resolve), with RFC 3339
``date-time`` and ``uuid`` formats checked. Each check takes an operation and one
``tests.fakes.alpaca_server.Exchange`` and returns its problems as text (empty: conforms):
credentials, path and query parameters (a query string is valid when some typed reading of it is),
the JSON body against the requestBody schema, the answer's status and body against the documented
response. What the real API does and the documents do not say is listed once here, with why it is
kept: a status the real API answers that the document omits, and the decimal fields alpaca-py sends
as JSON numbers where the document says string.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.fakes.alpaca_server import Exchange

SPECS = Path(__file__).resolve().parent
DOCUMENTS = ("alpaca-trading-api", "alpaca-market-data-api")
# What the real API does and the documents do not say: (method, template, status) -> why we keep it
UNDOCUMENTED_STATUSES = {
    ("GET", "/v2/orders:by_client_order_id", 404): "Alpaca answers 404 (code 40410000) for an unknown "
    "client_order_id; the document lists 200 only. AlpacaBroker.order_by_client_id reads it as 'no such "
    "order', which the duplicate and crash reconciliation rely on.",
}
# alpaca-py sends these CreateOrderRequest fields as JSON numbers; the document types them as strings
# (the real API takes both). We check the number's text against the documented schema.
NUMBERS_SENT_FOR_STRINGS = frozenset({"qty", "notional", "limit_price", "stop_price", "trail_price", "trail_percent"})
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
FORMATS = FormatChecker(formats=())
FORMATS.checks("date-time")(lambda value: not isinstance(value, str) or RFC3339.fullmatch(value) is not None)
FORMATS.checks("uuid")(lambda value: not isinstance(value, str) or UUID.fullmatch(value) is not None)


@dataclass(frozen=True)
class Operation:
    """One operation of one document, with the JSON pointers the checks need."""

    uri: str
    pointer: str  # of the operation object
    node: dict[str, Any]
    path_item: dict[str, Any]


class Spec:
    """The two document subsets, one registry for their ``$ref``s."""

    def __init__(self) -> None:
        self.documents = {f"urn:{name}": json.loads((SPECS / f"{name}.subset.json").read_text())
                          for name in DOCUMENTS}
        self.registry: Registry[Any] = Registry().with_resources(
            (uri, DRAFT202012.create_resource(doc)) for uri, doc in self.documents.items())

    def operation(self, method: str, template: str) -> Operation | None:
        """The operation serving ``method template``, or None when no document defines it."""
        for uri, doc in self.documents.items():
            item = doc["paths"].get(template, {})
            if method.lower() in item:
                return Operation(uri, f"/paths/{_escape(template)}/{method.lower()}", item[method.lower()], item)
        return None

    def at(self, uri: str, pointer: str) -> tuple[str, Any]:
        """The node at ``pointer``, following ``$ref``s; returns (its pointer, it)."""
        node: Any = self.documents[uri]
        for part in pointer.split("/")[1:]:
            key = part.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, dict) and "$ref" in node:
            return self.at(uri, node["$ref"].removeprefix("#"))
        return pointer, node

    def errors(self, uri: str, pointer: str, value: Any) -> list[str]:
        """Why ``value`` does not match the schema at ``pointer`` (empty when it does)."""
        validator = Draft202012Validator({"$ref": f"{uri}#{pointer}"}, registry=self.registry,
                                         format_checker=FORMATS)
        return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for e in validator.iter_errors(value)]

    def parameters(self, op: Operation) -> dict[tuple[str, str], str]:
        """(in, name) -> pointer of each parameter's schema; the operation's override the path's."""
        found: dict[tuple[str, str], str] = {}
        path_pointer = op.pointer.rsplit("/", 1)[0]
        for owner, node in ((path_pointer, op.path_item), (op.pointer, op.node)):
            for i in range(len(node.get("parameters", []))):
                pointer, parameter = self.at(op.uri, f"{owner}/parameters/{i}")
                found[(parameter["in"], parameter["name"])] = f"{pointer}/schema"
        return found


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@functools.cache
def spec() -> Spec:
    """Loaded once, on first use."""
    return Spec()


# requests ----------------------------------------------------------------------------------------------


def _readings(text: str) -> list[Any]:
    """The typed values a query string can stand for (``5`` is the integer 5 and the string "5")."""
    readings: list[Any] = [text, text.split(",")]  # an array travels comma-separated
    if text in {"true", "false"}:
        readings.append(text == "true")
    for kind in (int, float):
        try:
            readings.append(kind(text))
        except ValueError:
            continue
    return readings


def parameter_problems(op: Operation, ex: Exchange) -> list[str]:
    """Undocumented, missing or ill-typed path and query parameters of one request."""
    declared, found = spec().parameters(op), []
    received = {"path": {name: [value] for name, value in ex.params.items()}, "query": ex.query}
    for (where, name), schema in declared.items():
        _, parameter = spec().at(op.uri, schema.removesuffix("/schema"))
        if parameter.get("required") and name not in received.get(where, {}):
            found.append(f"missing required {where} parameter {name}")
    for where, values_by_name in received.items():
        for name, values in values_by_name.items():
            documented = declared.get((where, name))
            if documented is None:
                found.append(f"undocumented {where} parameter {name}={values}")
            else:
                found += [f"{where} {name}={value!r}: {spec().errors(op.uri, documented, value)}" for value in values
                          if all(spec().errors(op.uri, documented, reading) for reading in _readings(value))]
    return found


def body_problems(op: Operation, ex: Exchange, *, lenient: bool = True) -> list[str]:
    """A JSON body where the operation documents one, valid against its schema; none where it does not."""
    request_body = op.node.get("requestBody")
    if request_body is None:
        return [] if not ex.body else [f"a body the operation does not take: {ex.body[:80]!r}"]
    pointer, request_body = spec().at(op.uri, f"{op.pointer}/requestBody")
    content_type = ex.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in request_body["content"]:
        return [f"content type {content_type!r}, documented: {sorted(request_body['content'])}"]
    body = json.loads(ex.body)
    if lenient:
        body = {key: str(value) if key in NUMBERS_SENT_FOR_STRINGS and isinstance(value, int | float) else value
                for key, value in body.items()}
    return spec().errors(op.uri, f"{pointer}/content/{_escape(content_type)}/schema", body)


def credential_problems(op: Operation, ex: Exchange) -> list[str]:
    """The headers of at least one documented security alternative are present."""
    doc = spec().documents[op.uri]
    schemes = doc["components"]["securitySchemes"]
    alternatives = op.node.get("security", doc.get("security", []))
    headers_of = [{schemes[name]["name"].lower() for name in alt if schemes[name].get("in") == "header"}
                  for alt in alternatives]
    usable = [needed for needed, alt in zip(headers_of, alternatives, strict=True)
              if needed and len(needed) == len(alt)]
    return [] if not usable or any(needed <= ex.headers.keys() for needed in usable) else [
        f"none of the documented credentials {sorted(map(sorted, usable))}"]


# answers -----------------------------------------------------------------------------------------------


def answer_problems(op: Operation, ex: Exchange) -> list[str]:
    """The status is documented for the operation, the body matches the documented schema."""
    responses = op.node["responses"]
    key = next((k for k in (str(ex.status), f"{ex.status // 100}XX", "default") if k in responses), None)
    if key is None:
        if (ex.method, ex.route[1] if ex.route else ex.path, ex.status) in UNDOCUMENTED_STATUSES:
            return []
        return [f"status {ex.status} is not documented (documented: {sorted(responses)})"]
    pointer, response = spec().at(op.uri, f"{op.pointer}/responses/{key}")
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return [] if ex.status != 204 or ex.answer is None else [f"a body with 204: {ex.answer!r}"]
    return spec().errors(op.uri, f"{pointer}/content/application~1json/schema", ex.answer)


Check = Callable[[Operation, Exchange], list[str]]


def problems(recorded: Iterable[Exchange], check: Check) -> list[str]:
    """``check`` applied to every exchange, each problem labelled with its request and status."""
    found: list[str] = []
    for ex in recorded:
        op = spec().operation(*ex.route) if ex.route else None
        if op is None:
            found.append(f"{ex.method} {ex.path}: no documented operation")
            continue
        found += [f"{ex.method} {ex.path} -> {ex.status}: {p}" for p in check(op, ex)]
    return found
