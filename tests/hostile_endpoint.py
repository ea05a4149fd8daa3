"""A small OpenAI-shaped endpoint over real HTTP on loopback that misbehaves the way gateways do.

mode "echo_auth": every request gets a 401 whose body echoes the Authorization header, the key's first 12
characters, and the key inside a URL (user:key@host, ?api_key=); mode "echo": chat completions answer with
the last user message verbatim (so a test can prove what the model saw) and /v1/models lists one model.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: HostileServer

    def log_message(self, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _echo_auth(self) -> None:
        auth = self.headers.get("authorization", "")
        key = auth.partition(" ")[2]
        message = (f"invalid credentials in header '{auth}'; key starting {key[:12]}... is revoked; "
                   f"retry at https://user:{key}@gateway.example/v1?api_key={key}&region=eu")
        self._send(401, {"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}})

    def do_GET(self) -> None:
        if self.server.mode == "echo_auth":
            return self._echo_auth()
        return self._send(200, {"object": "list", "data": [{"id": "echo-model", "object": "model"}]})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.server.mode == "echo_auth":
            return self._echo_auth()
        self.server.seen.append(body)
        content = next((m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        self._send(200, {
            "id": "chatcmpl-echo", "object": "chat.completion", "created": 0, "model": body.get("model", "echo"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        })


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.seen: list[dict[str, Any]] = []  # request bodies received (echo mode)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
