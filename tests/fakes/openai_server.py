"""A local OpenAI-compatible server for tests: real HTTP on 127.0.0.1, a scriptable queue of answers.

``POST /v1/chat/completions`` pops the next behaviour from the queue (or repeats ``default`` when
the queue is empty) and records every request body, so tests can assert on prompts and count
calls. Responses have the shape of OpenAI's ``chat.completion`` objects. An error reply's message
may quote the request's API key (``key_echo``), as some proxies do ("Invalid API key provided: …").

Structured-output support is configurable: ``refuse_format("json_schema", llama_cpp_refusal())``
makes every request with that ``response_format`` type fail as llama-cpp-python's server does
(HTTP 500 quoting its request validation error); ``format_refusal(kind)`` is the HTTP 400 that
names ``response_format`` (OpenAI's wording). A refused request is recorded but leaves the queue alone.

``POST /v1/embeddings`` answers with deterministic vectors (``embed``: hashed word counts, unit
length), so texts that share words are near each other; its requests are kept apart in
``embedding_requests`` so chat tests count only chat calls. The vector size is the request's
``dimensions`` or 1536, unless ``embedding_dims`` fixes it (a model such as all-MiniLM, 384, or
nomic-embed-text, 768, whatever is asked); ``embedding_error`` (a ``Reply``) makes every
embeddings request fail with that status.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted behaviour."""

    content: str | None = None
    refusal: str | None = None
    finish_reason: str = "stop"
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 1200
    completion_tokens: int = 300
    error: str | None = None  # the error message; "{key}" becomes the request's bearer token


def answer(document: Any) -> Reply:
    """A normal answer whose content is ``document`` as JSON."""
    return Reply(content=json.dumps(document))


def malformed() -> Reply:
    """Content that is not JSON."""
    return Reply(content='{"market_view": "cut off', completion_tokens=5)


def refusal(text: str = "I can't help with that.") -> Reply:
    """A refusal (content null)."""
    return Reply(refusal=text)


def truncated() -> Reply:
    """An answer cut off at the token limit."""
    return Reply(content='{"market_view": "long', finish_reason="length", completion_tokens=4000)


def http_error(status: int = 500, retry_after: str | None = None) -> Reply:
    """An HTTP error with OpenAI's error body."""
    return Reply(status=status, headers={"Retry-After": retry_after} if retry_after is not None else {})


def key_echo(status: int = 401) -> Reply:
    """An authentication error that echoes the API key the request carried, as some proxies answer."""
    return Reply(status=status, error="Invalid API key provided: {key}. You can find your API key at "
                                      "https://platform.openai.com/account/api-keys.")


def llama_cpp_refusal(kind: str = "json_schema") -> Reply:
    """llama-cpp-python's server on a response_format type it does not know: HTTP 500, its validation error."""
    # doubled braces: the error text is a format string ({key} quotes the request's key)
    return Reply(status=500, error=("[{{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
                                    "'msg': \"Input should be 'text' or 'json_object'\", 'input': '" + kind + "'}}]"))


def format_refusal(kind: str) -> Reply:
    """An HTTP 400 naming the response format, as OpenAI answers a model that does not support it."""
    return Reply(status=400, error=f"Invalid parameter: 'response_format' of type '{kind}' is not supported "
                                   "with this model.")


def slow(seconds: float, document: Any) -> Reply:
    """A valid answer that arrives after ``seconds``."""
    return Reply(content=json.dumps(document), delay=seconds)


EMBEDDING_DIMS = 1536


def embed(text: str, size: int = EMBEDDING_DIMS) -> list[float]:
    """A deterministic unit vector of hashed word counts: shared words make texts similar."""
    vector = [0.0] * size
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        vector[int.from_bytes(digest[:4], "big") % size] += 1.0 if digest[4] % 2 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class FakeOpenAI:
    """The server, its queue and the requests it received."""

    def __init__(self) -> None:
        self.queue: deque[Reply] = deque()
        self.default: Reply | None = None
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.embedding_requests: list[dict[str, Any]] = []
        self.refusals: dict[str, Reply] = {}
        self.embedding_dims: int | None = None
        self.embedding_error: Reply | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The ``OPENAI_BASE_URL`` of this server."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeOpenAI:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()

    def script(self, *replies: Reply) -> None:
        """Queue behaviours for the next requests."""
        self.queue.extend(replies)

    def refuse_format(self, kind: str, reply: Reply | None = None) -> None:
        """Refuse every request whose ``response_format`` type is ``kind`` (default: llama-cpp-python's 500)."""
        self.refusals[kind] = reply or llama_cpp_refusal(kind)

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            kind = (body.get("response_format") or {}).get("type")
            if kind in self.refusals:
                return self.refusals[kind]
            if self.queue:
                return self.queue.popleft()
            if self.default is None:
                return Reply(status=500)
            return self.default

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.embedding_requests.append(body)
        texts = body.get("input") or []
        texts = [texts] if isinstance(texts, str) else texts
        size = self.embedding_dims or int(body.get("dimensions") or EMBEDDING_DIMS)
        return {"object": "list", "model": body.get("model", "fake-embedding"),
                "data": [{"object": "embedding", "index": i, "embedding": embed(str(t), size)}
                         for i, t in enumerate(texts)],
                "usage": {"prompt_tokens": sum(len(str(t).split()) for t in texts), "total_tokens": 0}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                """Chat completions only."""
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path == "/v1/embeddings":
                    failure = fake.embedding_error
                    if failure is not None:
                        self._send(failure.status, {"error": {"message": failure.error or "scripted embeddings failure",
                                                              "type": "server_error", "code": None}})
                        return
                    self._send(200, fake._embeddings(json.loads(raw or b"{}")))
                    return
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                    return
                reply = fake._next(json.loads(raw or b"{}"), {k.lower(): v for k, v in self.headers.items()})
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    message = (reply.error or "scripted HTTP {status}").format(key=key, status=reply.status)
                    self._send(reply.status, {"error": {"message": message, "type": "server_error", "code": None}},
                               reply.headers)
                    return
                self._send(200, _completion(reply, fake.requests[-1].get("model", "fake-model")))

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler


def _completion(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake{int(time.time() * 1000)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content,
                                             "refusal": reply.refusal},
                     "logprobs": None, "finish_reason": reply.finish_reason}],
        "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                  "total_tokens": reply.prompt_tokens + reply.completion_tokens},
    }
