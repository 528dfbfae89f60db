"""Limits on request bodies, enforced as a route reads them: a declared Content-Length over the
limit is refused before anything is read, a body that turns out longer (chunked uploads) is cut
off as soon as it passes the limit (413), and a body that arrives too slowly is cut off at the
deadline (408). Both answers close the connection, so the rest of the body is never read.
And the rate each client may ask for work at (`RateLimiter`: 429)."""

import asyncio
import ipaddress
import math
import time
from collections import OrderedDict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digitrec.serve.problems import Problem

CLOSE = {"Connection": "close"}


class BodyTooLarge(Problem):
    def __init__(self, max_bytes: int) -> None:
        limit = f"{max_bytes / 1024 / 1024:.1f} MB"
        super().__init__(413, f"request body is over the {limit} limit", headers=CLOSE)


class BodyTooSlow(Problem):
    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"request body not received within {seconds:g} s", headers=CLOSE)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        seen = 0
        deadline: float | None = None
        done = False

        async def limited_receive() -> Message:
            nonlocal seen, deadline, done
            if done:  # after the body: only disconnect notices, no limits
                return await receive()
            loop = asyncio.get_running_loop()
            if deadline is None:
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
                deadline = loop.time() + self.timeout_s
            try:
                async with asyncio.timeout_at(deadline):  # no task per call, unlike wait_for
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow(self.timeout_s) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
                done = not message.get("more_body", False)
            return message

        await self.app(scope, limited_receive, send)


class RateLimiter:
    """A token bucket per client (its address): `rate` requests a second on average, `burst` at
    once. Past it, 429 with Retry-After. Each server process keeps its own buckets (with
    --workers N a client may get up to N times the rate), at most MAX_CLIENTS of them: the
    longest idle are forgotten first, so a flood of addresses cannot grow the table."""

    MAX_CLIENTS = 10_000

    def __init__(self, name: str, rate: float, burst: int) -> None:
        self.name = name
        self.rate = rate
        self.burst = float(burst)
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when

    def take(self, client: str, cost: float = 1.0) -> None:
        """Spend `cost` tokens of this client's bucket, or raise the 429 Problem."""
        if self.rate <= 0:  # off
            return
        cost = min(cost, self.burst)  # a batch bigger than the burst waits for a full bucket
        if ":" in client:  # IPv6: one bucket per /64, what one host can hold
            client = str(ipaddress.ip_network(f"{client}/64", strict=False))
        now = time.monotonic()
        tokens, then = self.buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < cost:
            self.buckets[client] = (tokens, now)
            wait = max(1, math.ceil((cost - tokens) / self.rate))
            raise Problem(
                429,
                f"too many {self.name} from this client: {self.rate:g} a second on average, "
                f"{self.burst:g} at once; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        self.buckets[client] = (tokens - cost, now)
        while len(self.buckets) > self.MAX_CLIENTS:
            self.buckets.popitem(last=False)
