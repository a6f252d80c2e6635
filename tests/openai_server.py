"""A small scripted OpenAI-compatible HTTP server on 127.0.0.1, for real litellm HTTP tests."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedOpenAIServer:
    """Answers `POST /v1/chat/completions` with replies you enqueue; records every request.

    A reply is a str (assistant text), a dict (a whole JSON body), or a tuple
    `(status, body, headers)` for errors.
    """

    def __init__(self) -> None:
        self.replies: deque[Any] = deque()
        self.requests: list[dict[str, Any]] = []
        self.default: Any = None
        self.responder: Any = None  # body -> reply, used when no reply is queued
        self.latency = 0.0  # seconds each request takes before its reply
        self.in_flight = 0  # requests being answered now
        self.max_in_flight = 0
        self.abandoned = 0  # requests whose client went away before the reply
        self.spans: list[tuple[float, float]] = []  # (start, end) of every answered request
        self._count = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})

            def do_POST(self) -> None:
                with server._count:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                started = time.monotonic()
                try:
                    self._answer()
                finally:
                    with server._count:
                        server.in_flight -= 1
                        server.spans.append((started, time.monotonic()))

            def _client_gone(self) -> bool:
                readable, _, _ = select.select([self.connection], [], [], 0)
                if not readable:
                    return False
                try:
                    return self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                deadline = time.monotonic() + server.latency
                while time.monotonic() < deadline:  # the fixed latency, watching for a client that hangs up
                    if self._client_gone():
                        with server._count:
                            server.abandoned += 1
                        self.close_connection = True
                        return
                    time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
                server.requests.append(
                    {"path": self.path, "body": body, "headers": {k.lower(): v for k, v in self.headers.items()}}
                )
                if server.replies:
                    reply = server.replies.popleft()
                elif server.responder is not None:
                    reply = server.responder(body)
                else:
                    reply = server.default
                if reply is None:
                    self._send(500, {"error": {"message": "no scripted reply left"}})
                elif isinstance(reply, tuple):
                    status, payload, headers = (reply + ({},))[:3]
                    self._send(status, payload, headers)
                elif isinstance(reply, dict):
                    self._send(200, reply)
                else:
                    self._send(200, completion(str(reply), body))

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # many clients at once (the throughput bench)
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedOpenAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(
    text: str, request: dict[str, Any] | None = None, tool_calls: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in (request or {}).get("messages", []))
    return {
        "id": f"chatcmpl-{time.time_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": (request or {}).get("model", "scripted"),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(text.split()),
            "total_tokens": prompt_tokens + len(text.split()),
        },
    }
