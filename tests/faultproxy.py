"""A loopback HTTP proxy that misbehaves: resets connections, delays, answers 503 SlowDown.

Faults are decided per request (S3 clients keep connections alive, so per-connection faults
would rarely hit), from a seeded generator, and only before the request reaches the server: a
reset or a 503 means the server never saw it. Requests are forwarded to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import random
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Faults:
    reset: float = 0.1
    slow_down: float = 0.1
    delay: float = 0.1
    max_delay: float = 0.4
    seed: int = 0
    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def draw(self) -> str:
        with self.lock:
            roll = self.rng.random()
            kind = "pass"
            for name, share in (
                ("reset", self.reset),
                ("503", self.slow_down),
                ("delay", self.delay),
            ):
                if roll < share:
                    kind = name
                    break
                roll -= share
            self.counts[kind] += 1
            return kind


class FaultProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream_port: int, faults: Faults) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream_port = upstream_port
        self.faults = faults
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(socketserver.StreamRequestHandler):
    server: FaultProxy

    def handle(self) -> None:
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=60)
        try:
            while self._one_request(upstream):
                pass
        finally:
            upstream.close()

    def _one_request(self, upstream: http.client.HTTPConnection) -> bool:
        request = _read_request(self.rfile)
        if request is None:
            return False
        method, target, headers, body = request
        fault = self.server.faults.draw()
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False  # closing with linger 0 sends a TCP reset
        if fault == "503":
            body_503 = b"<Error><Code>SlowDown</Code><Message>Slow down</Message></Error>"
            self.wfile.write(
                b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                + f"Content-Length: {len(body_503)}\r\n\r\n".encode()
                + body_503
            )
            return True
        if fault == "delay":
            time.sleep(self.server.faults.rng.uniform(0.05, self.server.faults.max_delay))
        upstream.request(method, target, body=body, headers=headers)
        response = upstream.getresponse()
        payload = response.read()
        self.wfile.write(_response_bytes(response, payload, head=method == "HEAD"))
        return True


def _read_request(rfile) -> tuple[str, str, dict[str, str], bytes] | None:
    line = rfile.readline()
    if not line.strip():
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (header := rfile.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip()] = value.strip()
    length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), 0))
    if any(k.lower() == "expect" for k in headers):
        return None  # not forwarded: gallerypipe drops Expect: 100-continue
    return method, target, headers, rfile.read(length) if length else b""


def _response_bytes(response: http.client.HTTPResponse, payload: bytes, head: bool) -> bytes:
    lines = [f"HTTP/1.1 {response.status} {response.reason}"]
    for name, value in response.getheaders():
        if name.lower() not in ("transfer-encoding", "connection", "content-length"):
            lines.append(f"{name}: {value}")
    length = response.getheader("Content-Length") if head else str(len(payload))
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else payload)
