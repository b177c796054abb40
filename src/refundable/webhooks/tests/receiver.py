"""A real HTTP receiver for the webhook tests: it checks each request's signature like an
integrator would, records it, and answers with the status codes a test scripts."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from refundable.webhooks.signing import webhook_signature_verify


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signed: bool  # the signature checks out with the receiver's secret

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers with ``script`` in order (then ``default``); ``hang`` makes it wait without
    answering until the test ends (to exercise the sender's timeout)."""

    url: str = ""
    secret: str = ""
    script: list[int] = field(default_factory=list)
    default: int = 200
    requests: list[Received] = field(default_factory=list)
    hang: bool = False
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self) -> int:
        return self.script.pop(0) if self.script else self.default


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k: v for k, v in self.headers.items()}
            signed = webhook_signature_verify(
                payload=body, header=headers.get("Refundable-Signature", ""),
                secret=receiver.secret)
            receiver.requests.append(Received(self.path, headers, body, signed))
            if receiver.hang:
                receiver.release.wait(10)
                return
            status = receiver.answer()
            reply = json.dumps({"received": True, "status": status}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


def receiver_start() -> tuple[Receiver, ThreadingHTTPServer, threading.Thread]:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port) serving ``/hooks``."""
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return state, server, thread
