"""The API token: who may call the routes that write or reveal stored data.

Where the token comes from, first found: `token` (DIGITREC_SERVE_TOKEN), `auth_token_file`
(--auth-token-file), or $DIGITREC_HOME/serve-token — generated at the first start (0600,
published atomically so that workers starting together agree), as Jupyter does. A home that
cannot hold it leaves a token no one knows: those routes then refuse everyone (fail closed).

A client sends `Authorization: Bearer TOKEN`. The web page cannot keep a secret in its script,
so its user gives the token once to `POST /v1/session`, which answers with a session cookie
(HttpOnly, SameSite=Strict: another site's page never sends it) holding an HMAC of the token,
never the token itself. Tokens and cookies are compared in constant time; neither is logged.
"""

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from digitrec.errors import DataError, UsageError
from digitrec.home import digitrec_home
from digitrec.serve.dependencies import LimitsDep, SettingsDep, client_of
from digitrec.serve.problems import Problem, problem_responses
from digitrec.serve.settings import ServeSettings
from digitrec.storage import read_regular_file

TOKEN_FILE = "serve-token"  # in $DIGITREC_HOME
COOKIE = "digitrec_session"
MIN_TOKEN_CHARS = 16
MAX_TOKEN_BYTES = 4096
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="digitrec"'}

# Documents the scheme in /openapi.json; the check itself is `require_token`'s.
bearer = HTTPBearer(
    auto_error=False,
    description="The server's API token (digitrec serve prints where it is kept)",
)


@dataclass(frozen=True)
class Auth:
    token: str
    where: str  # where the token came from, for the start-up line (never the token)
    problem: str = ""  # why no one can know the token, when no one can

    @property
    def session(self) -> str:
        """The session cookie's value: derived from the token, useless for anything else."""
        return hmac.new(self.token.encode(), b"digitrec web session", hashlib.sha256).hexdigest()

    def allows(self, request: Request) -> bool:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and given.strip():
            return self.is_token(given.strip())
        cookie = request.cookies.get(COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.session.encode())

    def is_token(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.token.encode())


def load_auth(settings: ServeSettings) -> Auth:
    """The server's token, from the settings, their file, or the one kept in $DIGITREC_HOME
    (generated when missing). UsageError for a token file that cannot be read or a token that
    is too short to guess hard."""
    if settings.token is not None:
        return Auth(_checked(settings.token.get_secret_value(), "DIGITREC_SERVE_TOKEN"), "given")
    if settings.auth_token_file is not None:
        path = settings.auth_token_file
        try:
            text = read_regular_file(path, MAX_TOKEN_BYTES).decode("utf-8")
        except DataError as error:
            raise UsageError(f"--auth-token-file {error}") from None
        except UnicodeDecodeError:
            raise UsageError(f"--auth-token-file {path}: not a text file") from None
        return Auth(_checked(text.strip(), f"--auth-token-file {path}"), str(path))
    path = digitrec_home() / TOKEN_FILE
    try:
        return Auth(_kept_token(path), str(path))
    except (OSError, ValueError) as error:  # a read-only home, a file that holds no token
        problem = f"no API token could be kept in {path} ({error})"
        return Auth(secrets.token_urlsafe(32), "nowhere", problem)


def _checked(token: str, source: str) -> str:
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise UsageError(
            f"{source}: a token must be at least {MIN_TOKEN_CHARS} characters, no spaces"
        )
    return token


def _kept_token(path: Path) -> str:
    """The token in `path`, written there first (0600) when there is none. Published with
    link(2), which fails when the file exists: two workers starting at once keep one token."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".serve-token-")
        try:
            with os.fdopen(descriptor, "w") as handle:  # mkstemp made it 0600
                handle.write(secrets.token_urlsafe(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another worker was first: its token
                os.link(temporary, path)
        finally:
            Path(temporary).unlink()
    try:  # a regular file only, and only so many bytes: not a link to /dev/zero
        token = read_regular_file(path, MAX_TOKEN_BYTES).decode("utf-8").strip()
    except DataError as error:
        raise ValueError(str(error)) from None
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError("it holds no token; delete it to have another generated")
    return token


def get_auth(request: Request) -> Auth:
    """A dependency: the server's token and session (loaded once, at start-up)."""
    auth: Auth = request.app.state.auth
    return auth


AuthDep = Annotated[Auth, Depends(get_auth)]


async def require_token(
    request: Request,
    auth: AuthDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """A route dependency: 401 unless the request carries the token or the page's session."""
    if not auth.allows(request):
        detail = "this route needs the server's API token (Authorization: Bearer …)"
        raise Problem(401, auth.problem or detail, headers=CHALLENGE)


class SessionState(BaseModel):
    signed_in: bool = Field(description="the request carries the token or a session")
    auth: str = Field(description="'writes' or 'all': which routes need the token")


class SessionRequest(BaseModel):
    token: str = Field(max_length=MAX_TOKEN_BYTES, description="the server's API token")


session_router = APIRouter(tags=["session"])


@session_router.get(
    "/v1/session",
    summary="Whether this client is signed in, and what needs it",
    responses=problem_responses(),
)
async def session_state(request: Request, auth: AuthDep, settings: SettingsDep) -> SessionState:
    """`signed_in`: the request carries the token or a session; `auth`: "writes" (the routes
    that write or reveal stored data need it) or "all" (every route but /healthz and the page)."""
    return SessionState(signed_in=auth.allows(request), auth=settings.auth)


@session_router.post(
    "/v1/session",
    summary="Trade the API token for a session cookie (the web page signs in once)",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 408, 413, 422, 429),
)
async def open_session(
    request: Request, body: SessionRequest, auth: AuthDep, limits: LimitsDep
) -> Response:
    limits.session.take(client_of(request))
    if not auth.is_token(body.token):
        raise Problem(401, auth.problem or "that is not this server's API token", headers=CHALLENGE)
    response = Response(status_code=204)
    response.set_cookie(
        COOKIE,
        auth.session,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@session_router.delete(
    "/v1/session",
    summary="Sign out: the session cookie is cleared",
    status_code=204,
    response_class=Response,
    responses=problem_responses(403),
)
async def close_session() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
