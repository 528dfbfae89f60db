"""The request body limit, enforced before a route reads anything: a declared Content-Length over
the limit is refused at once, and a body that turns out longer (chunked uploads) is cut off as
soon as it passes the limit — either way a 413 problem, and the rest is never buffered."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digitrec.serve.problems import Problem, problem_response


class BodyTooLarge(Problem):
    """Raised from `receive` once the body passes the limit; a route reading it answers 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body is over the {max_bytes / 1024 / 1024:.1f} MB limit")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = BodyTooLarge(self.max_bytes)
        await problem_response(refusal.status, refusal.detail)(scope, receive, send)
