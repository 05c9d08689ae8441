"""A loopback TLS terminator in front of the S3 server: HTTPS outside, plain HTTP to 127.0.0.1.

It reuses faultproxy's request-by-request forwarding with no faults, each connection wrapped in
TLS with a certificate made by trustme (a throwaway CA the test decides whether to trust).
"""

from __future__ import annotations

import ssl

import trustme
from faultproxy import FaultProxy, Faults


class TlsProxy(FaultProxy):
    def __init__(self, upstream_port: int, ca: trustme.CA, *names: str) -> None:
        super().__init__(upstream_port, Faults(reset=0, slow_down=0, delay=0))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*(names or ("127.0.0.1", "localhost"))).configure_cert(self.context)

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"

    @property
    def requests(self) -> int:
        """Requests forwarded to the server (a refused handshake forwards none)."""
        return self.faults.counts["pass"]

    def finish_request(self, request, client_address) -> None:
        """The handshake in the connection's own thread; a client that refuses it just leaves."""
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with tls:
            super().finish_request(tls, client_address)
