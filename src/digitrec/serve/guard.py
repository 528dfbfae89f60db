"""Who may talk to the server, and what the browser is told: the outermost middleware.

- `Host` must name this server (`allowed_hosts`: by default settings.LOCAL_HOSTS and the address
  it was started on): a page on a rebinding domain (evil.example resolving to 127.0.0.1)
  reaches the port, but not with our name in its Host header. 400 otherwise.
- A write (POST, PUT, PATCH, DELETE) that a browser sends from another site carries that site's
  `Origin`: only the server's own origin and `cors_origins` may write; 403 for the rest (a form
  post needs no CORS preflight, so CORS alone never stopped it). Clients that are not browsers
  send no Origin and are not affected.
- Every answer carries nosniff, a same-origin referrer policy and no framing; HTML pages a
  Content-Security-Policy that allows only the server's own scripts (`html_policy`), static
  files Cache-Control.
"""

import base64
import hashlib
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digitrec.serve.problems import problem_response

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    # same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with the
    # page's own POSTs (Fetch standard), which the write check below must refuse
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
STATIC_CACHE = b"no-cache"  # revalidate (ETag) so an upgraded server never runs stale app.js


def html_policy(inline_scripts: Iterable[str] = ()) -> str:
    """The Content-Security-Policy of an HTML page: own scripts, styles and fetches only; images
    also as data: and blob: URLs (the canvas, the saliency overlays); inline scripts only those
    given (by their SHA-256); WebAssembly compiled from the server's own files (ONNX Runtime Web,
    the in-browser reader) but no eval of strings."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in inline_scripts
    )
    script = f"script-src 'self' 'wasm-unsafe-eval' {hashes}".strip()
    return (
        f"default-src 'self'; {script}; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def inline_scripts(html: str) -> list[str]:
    """The bodies of the <script> elements without a src in an HTML page."""
    return re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S)


def host_name(host: str) -> str:
    """A Host header's name, without its port: 'localhost:8000' -> 'localhost', '[::1]:80' ->
    '::1'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class GuardMiddleware:
    def __init__(self, app: ASGIApp, allowed_hosts: list[str], cors_origins: list[str]) -> None:
        self.app = app
        self.any_host = "*" in allowed_hosts
        self.allowed_hosts = {host_name(h) for h in allowed_hosts}
        self.cors_origins = {o.rstrip("/").lower() for o in cors_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        host = headers.get(b"host", b"").decode("latin-1")
        refusal = None
        if not self.any_host and host_name(host) not in self.allowed_hosts:
            refusal = problem_response(400, "this server does not answer to that Host header")
        elif scope["method"] in WRITES and b"origin" in headers:
            origin = headers[b"origin"].decode("latin-1").rstrip("/").lower()
            # Our own page's origin names our Host; its scheme may differ (https at a proxy
            # in front, http here). `null` (a sandboxed frame, a file) is nobody's own.
            own = origin.partition("://")[2] == host.strip().lower()
            if not own and origin not in self.cors_origins:
                refusal = problem_response(
                    403, "writes from another site's page are refused (see cors_origins)"
                )
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in COMMON_HEADERS if k not in names]
                if static and b"cache-control" not in names:
                    extra.append((b"cache-control", STATIC_CACHE))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
