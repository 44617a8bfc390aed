"""The LLM client: the only module that imports openai.

Policy: one ``AsyncOpenAI`` built by the composition root (never at import), with the SDK's own
retries off (``max_retries=0``) so that the retry loop here is the only one: 429, 5xx, timeouts and
connection errors are retried with exponential backoff (``Retry-After`` honoured, capped); any
other HTTP error is final. The structured-output mode is negotiated (``agent.llm.modes``):
``json_schema`` requests go through ``chat.completions.parse`` with the strict JSON schema of the
answer asked for, ``agent.schema.PolicyDecision`` unless told (the SDK's own parse verdict is
noted); ``json_object`` sends that schema inside a ``json_object`` response format; ``prompt`` sends
none and writes the schema into the system prompt. A refusal of the response format is not retried:
the next mode is tried at once (in ``auto``), and the mode that answered is kept for this client's
next calls. The raw answer text is always kept, because ``agent.llm.gate`` (or, for the sleeves'
allocation, ``bot.sleeves.allocator_llm``) is the authority on what the answer means.

Redaction: the endpoint's error text (proxies answer ``Invalid API key provided: sk-…``) and any
refusal are untrusted; they leave this module through ``broker.redaction.Redactor``, which knows the
client's own API key, the password of its base URL and the configured secrets passed in, so nothing
downstream (audit rows, alerts, cycle reports, output) receives a secret. ``endpoint_host`` never
carries a user or password.

Failure contract: ``complete`` never raises for a transport or answer problem; it returns a
``CallResult`` listing every failed attempt (with its reason, latency and mode) and the answer, if any.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import openai
from openai import AsyncOpenAI
from openai.lib._parsing._completions import type_to_response_format_param
from pydantic import BaseModel

from agent.llm.audit import canonical
from agent.llm.modes import AUTO, OutputMode, candidates, json_object_format, refuses_format
from agent.llm.prompt import with_schema
from agent.schema import PolicyDecision
from broker.redaction import Redactor, host_of, url_credentials

MAX_RETRY_AFTER = 30.0
MAX_REASON = 240
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ModelAnswer:
    """What the model said: its text or refusal, why it stopped, and the token counts."""

    content: str | None
    refusal: str | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    note: str | None = None
    mode: str | None = None


@dataclass(frozen=True)
class FailedAttempt:
    """One HTTP attempt that produced no answer (``refused``: the server refused the response format)."""

    reason: str
    latency_ms: float
    mode: str | None = None
    refused: bool = False


@dataclass(frozen=True)
class CallResult:
    """Every failed attempt, then the answer (None when all attempts failed)."""

    answer: ModelAnswer | None
    failures: list[FailedAttempt] = field(default_factory=list)


Answer = type[BaseModel]


def response_format(answer: Answer = PolicyDecision) -> dict[str, Any]:
    """The strict ``json_schema`` response format that ``parse`` sends for ``answer`` (a fresh copy)."""
    return copy.deepcopy(_response_format(answer))


@functools.cache
def response_format_text(answer: Answer = PolicyDecision) -> str:
    """``response_format(answer)`` as its canonical JSON, made once (a cache key's constant part)."""
    return canonical(_response_format(answer))


@functools.cache
def _response_format(answer: Answer) -> dict[str, Any]:
    # Generating the schema costs ~5 ms (pydantic walks the model); an LLM replay asks for it daily.
    return dict(type_to_response_format_param(answer))  # type: ignore[arg-type]


def make_openai(base_url: str | None, api_key: str, timeout: float) -> AsyncOpenAI:
    """The SDK client, SDK retries off (ours are in ``LlmClient``)."""
    return AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)


class LlmClient:
    """Chat completions with our retry loop."""

    def __init__(self, sdk: AsyncOpenAI, model: str, *, max_retries: int = 3, max_tokens: int = 4000,
                 backoff_seconds: float = 1.0, sleep: Sleep = asyncio.sleep, secrets: Sequence[str] = (),
                 output_mode: str = AUTO) -> None:
        candidates(output_mode)  # an unknown mode fails here, when the client is built
        self._sdk = sdk
        self.output_mode = output_mode
        self.negotiated: OutputMode | None = None
        self.redactor = Redactor([sdk.api_key, *url_credentials(str(sdk.base_url)), *secrets])
        self.model = model
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep

    @functools.cached_property
    def endpoint_host(self) -> str:
        """The host (and port) the requests go to, without any user or password (the client's URL is fixed)."""
        return self.redactor.text(host_of(str(self._sdk.base_url)))

    def modes(self, remembered: str | None = None) -> list[OutputMode]:
        """The output modes the next call tries, in order (``remembered``: the stored mode of this endpoint)."""
        return candidates(self.output_mode, self.negotiated or remembered)

    async def complete(self, messages: Sequence[dict[str, str]], remembered: str | None = None,
                       schema: Answer = PolicyDecision) -> CallResult:
        """Ask once for a ``schema`` document (a decision unless told), negotiating the output mode and
        retrying transient failures; never raises for transport or answer problems."""
        failures: list[FailedAttempt] = []
        for mode in self.modes(remembered):
            answer = await self._retrying(mode, messages, failures, schema)
            if answer is not None:
                if self.output_mode == AUTO:
                    self.negotiated = mode
                return CallResult(answer, failures)
            if not failures or not failures[-1].refused:
                break
        return CallResult(None, failures)

    async def _retrying(self, mode: OutputMode, messages: Sequence[dict[str, str]],
                        failures: list[FailedAttempt], schema: Answer) -> ModelAnswer | None:
        """One mode with our retry loop; the failures are appended to ``failures``."""
        for attempt in range(self.max_retries + 1):
            started = time.perf_counter()
            try:
                return await self._attempt(mode, messages, started, schema)
            except (openai.APIError, BadResponse) as exc:
                refused = isinstance(exc, openai.APIStatusError) and refuses_format(exc.status_code, exc.message, mode)
                reason = self.redactor.text(_reason(exc))[:MAX_REASON]  # cut after redaction: no partial key
                if refused:
                    forced = "" if self.output_mode == AUTO else " (forced; PAPERDESK_LLM_OUTPUT_MODE=auto falls back)"
                    reason = f"{mode} refused by the server{forced}: {reason}"[:MAX_REASON]
                failures.append(FailedAttempt(reason, _ms(started), str(mode), refused))
                if refused or not _retryable(exc) or attempt == self.max_retries:
                    return None
                await self._sleep(self._delay(exc, attempt))
        return None

    async def _attempt(self, mode: OutputMode, messages: Sequence[dict[str, str]], started: float,
                       schema: Answer) -> ModelAnswer:
        if mode is OutputMode.JSON_SCHEMA:
            raw = await self._sdk.chat.completions.with_raw_response.parse(
                model=self.model, messages=list(messages), response_format=schema,  # type: ignore[arg-type]
                max_completion_tokens=self.max_tokens)
            body = _json_body(raw.http_response.text)
            note = _sdk_verdict(raw)
        else:
            shape = response_format(schema)["json_schema"]["schema"]
            sent = with_schema(messages, shape) if mode is OutputMode.PROMPT else list(messages)
            extra: dict[str, Any] = {} if mode is OutputMode.PROMPT else {
                "response_format": json_object_format(shape)}
            # max_tokens, not max_completion_tokens: the servers these modes are for (llama-cpp-python)
            # read only max_tokens and silently ignore the other, leaving the answer unbounded.
            plain = await self._sdk.chat.completions.with_raw_response.create(
                model=self.model, messages=sent, max_tokens=self.max_tokens, **extra)  # type: ignore[arg-type]
            body, note = _json_body(plain.http_response.text), None
        answer = _answer(body, _ms(started), note, str(mode))
        return answer if answer.refusal is None else replace(answer, refusal=self.redactor.text(answer.refusal))

    def _delay(self, exc: openai.APIError | BadResponse, attempt: int) -> float:
        backoff = self.backoff_seconds * 2 ** attempt
        if isinstance(exc, openai.APIStatusError):
            header = exc.response.headers.get("retry-after")
            try:
                return min(max(float(header), 0.0), MAX_RETRY_AFTER) if header is not None else float(backoff)
            except ValueError:
                return float(backoff)
        return float(backoff)


class BadResponse(Exception):
    """The server answered 200 with something that is not a chat completion."""


def _json_body(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        raise BadResponse("the response body is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list) or not body["choices"]:
        raise BadResponse("the response is not a chat completion")
    return body


def _sdk_verdict(raw: Any) -> str | None:
    """The SDK's own parse verdict, as a note (the gate decides)."""
    try:
        raw.parse()
    except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
        return type(exc).__name__
    except Exception as exc:  # the SDK's verdict is a note; the gate decides
        return f"sdk parse: {type(exc).__name__}"
    return None


def _answer(body: dict[str, Any], latency_ms: float, note: str | None, mode: str | None = None) -> ModelAnswer:
    first = body["choices"][0]
    choice = first if isinstance(first, dict) else {}
    message: dict[str, Any] = choice["message"] if isinstance(choice.get("message"), dict) else {}
    usage: dict[str, Any] = body["usage"] if isinstance(body.get("usage"), dict) else {}
    return ModelAnswer(
        content=_text(message.get("content")), refusal=_text(message.get("refusal")),
        finish_reason=_text(choice.get("finish_reason")), prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")), latency_ms=latency_ms, note=note, mode=mode)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _retryable(exc: openai.APIError | BadResponse) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500)


def _reason(exc: openai.APIError | BadResponse) -> str:
    if isinstance(exc, BadResponse):
        return str(exc)
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return f"connection error: {exc}"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
