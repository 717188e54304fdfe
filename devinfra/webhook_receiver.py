"""A webhook receiver on loopback with scripted answers, for the tests and the benchmarks."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    #: Connections the kernel queues before accept (http.server's 5 drops SYNs under a burst, and the client
    #: waits a second to try again: a receiver's stall, not the sender's; nginx queues 511).
    request_queue_size = 128
    daemon_threads = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.open: set[socket.socket] = set()  # connections kept alive, severed on close
        self.open_lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self.open_lock:
            self.open.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self.open_lock:
            self.open.discard(request)
        super().shutdown_request(request)

    def sever(self) -> None:
        """End every connection still open, as a receiver that goes down does."""
        with self.open_lock:
            connections, self.open = self.open, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class WebhookReceiver:
    """A webhook receiver on loopback answering with scripted answers.

    An answer is a status (``200``), ``"hang"`` (never answers until closed), ``"close"`` (drops the
    connection mid-answer) or a dict with ``status`` and optional ``headers`` and ``body`` (bytes).
    ``in_flight`` is how many requests it holds at this moment, ``most_in_flight`` the most ever; each
    request is kept with its headers, body, path, when it arrived (``received_at``, Unix seconds) and
    the sender's end of its ``connection`` (the same for the requests of one kept-alive connection).
    """

    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[Any] = []
        self.default: Any = 200
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as receivers in production

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = {"headers": dict(self.headers), "body": body, "path": self.path, "received_at": time.time(),
                           "connection": self.client_address}  # fmt: skip
                with receiver._lock:
                    receiver.requests.append(request)
                    answer = receiver.script.pop(0) if receiver.script else receiver.default
                    receiver.in_flight += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                try:
                    self._answer(answer)
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1

            def _answer(self, answer: Any) -> None:
                if answer == "hang":
                    receiver.release.wait(60)
                    return
                if answer == "close":
                    self.wfile.write(b"HTTP/1.1 20")
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                spec: dict[str, Any] = answer if isinstance(answer, dict) else {"status": int(answer)}
                body = spec.get("body", b"")
                self.send_response(spec["status"])
                for name, value in spec.get("headers", {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.release = threading.Event()
        self.server = _Server(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/codegen"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.server.sever()


def main() -> None:
    """`python -m devinfra.webhook_receiver --port P [--hang]`: serve on loopback until SIGTERM, writing a line
    ``<webhook-id> <received_at>`` per request to stdout (for benchmarks, apart from the process that measures)."""
    import argparse
    import signal
    import sys

    from codegen_config.stopping import stop_on_signals

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hang", action="store_true", help="never answer")
    args = parser.parse_args()
    receiver = WebhookReceiver(port=args.port)
    receiver.default = "hang" if args.hang else 200
    done = threading.Event()
    stop_on_signals(done.set, [signal.SIGTERM])
    written = 0
    while not done.wait(0.05):
        for request in receiver.requests[written:]:
            sys.stdout.write(f"{request['headers'].get('webhook-id', '-')} {request['received_at']:.6f}\n")
            written += 1
        sys.stdout.flush()
    receiver.close()


if __name__ == "__main__":
    main()
