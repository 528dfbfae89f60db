"""What a connection may cost before the app sees a request: uvicorn's HTTP protocol (httptools)
with the limits it lacks.

- A request's head (request line and headers) must arrive within `header_timeout_s`, counted
  from the connection's start or from the end of the previous request: a socket that sends
  nothing, or a header line now and then (slowloris), is closed.
- The head may hold at most `max_headers` headers and `max_header_bytes` bytes: 431 past them,
  checked as the bytes arrive, so a 64 MB header is never buffered.
- At most `max_connections` connections: when one more arrives, the connection that has been
  idle longest (no request being answered) is closed to make room; only when every connection
  is busy does the newcomer get 503. Idle clients cannot lock out `/healthz` or anyone else.

uvicorn builds one protocol object per connection from `http=`; `guarded_protocol(settings)`
gives it this class with the limits bound (picklable, for worker processes).
"""

import asyncio
import functools
import json
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from digitrec.serve.problems import MEDIA_TYPE, problem_document
from digitrec.serve.settings import ServeSettings


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float
    max_header_bytes: int
    max_headers: int
    max_connections: int


def guarded_protocol(settings: ServeSettings) -> functools.partial[Any]:
    """uvicorn's `http=` option: GuardedProtocol with the settings' limits."""
    limits = ConnectionLimits(
        settings.header_timeout_s,
        settings.max_header_bytes,
        settings.max_headers,
        settings.max_connections,
    )
    return functools.partial(GuardedProtocol, limits=limits)


def _answer(status: int, detail: str) -> bytes:
    """A whole HTTP answer: a problem document, then close."""
    body = json.dumps(problem_document(status, detail)).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"content-type: {MEDIA_TYPE}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class GuardedProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.head_bytes = 0  # bytes received since the current head began
        self.head_count = 0  # headers in the current head
        self.reading_head = True
        self.refused = False
        self.idle_since = time.monotonic()
        self.head_timer: asyncio.TimerHandle | None = None

    # connections

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()
        if len(self.connections) > self.limits.max_connections and not self._evict_idle():
            self._refuse(503, "the server has no free connection")

    def _evict_idle(self) -> bool:
        """Close the connection idle longest to make room; False when every one is busy."""
        idle = [
            c
            for c in self.connections
            if c is not self and isinstance(c, GuardedProtocol) and c.is_idle()
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.idle_since)
        oldest.transport.close()
        self.connections.discard(oldest)
        return True

    def is_idle(self) -> bool:
        """No request being answered: waiting for a head, or for the next request."""
        return self.cycle is None or self.cycle.response_complete

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    # the head: time, bytes, count

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.reading_head:
            self.head_bytes += len(data)
        super().data_received(data)
        if self.reading_head and self.head_bytes > self.limits.max_header_bytes:
            self._refuse(
                431,
                f"the request head is over {self.limits.max_header_bytes} bytes",
            )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_count = 0
        self.reading_head = True
        if self.head_timer is None:  # a kept connection's next request: its clock starts now
            self._arm_head_timer()

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.refused:
            return
        self.head_count += 1
        if self.head_count > self.limits.max_headers:
            self._refuse(
                431,
                f"the request has over {self.limits.max_headers} headers",
            )
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self.refused:
            return
        self.reading_head = False
        self.head_bytes = 0
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.refused:
            super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.idle_since = time.monotonic()
        self.reading_head = True
        self.head_bytes = 0
        # the keep-alive timeout closes a connection that sends nothing more; once the next
        # request's first bytes arrive, on_message_begin starts the head's clock

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self.head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_too_slow)

    def _disarm_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_too_slow(self) -> None:
        self.head_timer = None
        if self.reading_head and not self.transport.is_closing():
            seconds = f"{self.limits.header_timeout_s:g}"
            self._refuse(408, f"the request head took over {seconds} s")

    def _refuse(self, status: int, detail: str) -> None:
        """Answer with a problem document and close, reading nothing more."""
        self.refused = True
        self._disarm_head_timer()
        if not self.transport.is_closing():
            self.transport.write(_answer(status, detail))
            self.transport.close()
