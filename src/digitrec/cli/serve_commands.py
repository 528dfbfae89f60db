"""`digitrec serve`: the REST API and web page under uvicorn."""

import argparse
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from digitrec.serve.settings import ServeSettings

# `digitrec serve` flags -> the ServeSettings fields they set (through DIGITREC_SERVE_* variables,
# so every uvicorn worker process builds the same settings).
FLAG_SETTINGS = (
    "model",
    "backend",
    "reader",
    "threshold",
    "max_body_bytes",
    "timeout_s",
    "feedback_db",
    "allowed_hosts",
    "auth_token_file",
    "auth",
)


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    serve = commands.add_parser(
        "serve",
        help="run the web app and REST API (draw or upload digits, read numbers)",
        description="Serve the web page at / and the REST API under /v1 (OpenAPI docs at /docs). "
        "Other settings: DIGITREC_SERVE_* environment variables (see digitrec.serve.settings).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (8000)")
    serve.add_argument(
        "--model", help="'default' (the default), a run dir, a model file or an exported .onnx"
    )
    serve.add_argument(
        "--backend",
        choices=["torch", "onnx", "auto"],
        help="where networks run (auto: ONNX Runtime when installed and measured faster here)",
    )
    serve.add_argument(
        "--reader",
        choices=["auto", "line", "segment"],
        help="how /v1/read reads a number (auto: the line reader when the package has it)",
    )
    serve.add_argument("--threshold", type=float, help="below this probability: unsure (0.5)")
    serve.add_argument("--max-body-bytes", type=int, help="request body limit in bytes (10 MiB)")
    serve.add_argument("--timeout-s", type=float, help="per-request inference timeout (10 s)")
    serve.add_argument("--feedback-db", type=Path, help="($DIGITREC_HOME/feedback.db)")
    serve.add_argument(
        "--allowed-hosts",
        help="Host header names the server answers to, comma-separated, or * for any "
        "(127.0.0.1, localhost, ::1 and --host)",
    )
    serve.add_argument(
        "--auth-token-file",
        type=Path,
        help="the API token, in a file (else DIGITREC_SERVE_TOKEN, else one generated at the "
        "first start into $DIGITREC_HOME/serve-token)",
    )
    serve.add_argument(
        "--auth",
        choices=["writes", "all"],
        help="which routes need the token: those that write or reveal stored data (writes, "
        "the default), or all but /healthz and the page",
    )
    serve.add_argument("--workers", type=int, default=1, help="server processes (1)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from digitrec.errors import UsageError
    from digitrec.extras import require

    uvicorn = require("uvicorn")
    require("fastapi")
    from digitrec.models.modelfile import resolve_model_path

    if not 0 < args.port < 65536 or args.workers < 1:
        raise UsageError("--port must be 1-65535 and --workers at least 1")
    given = {name for name in FLAG_SETTINGS if getattr(args, name) is not None}
    if args.allowed_hosts is None and "DIGITREC_SERVE_ALLOWED_HOSTS" not in os.environ:
        from digitrec.serve.settings import LOCAL_HOSTS

        # the address it listens on names it too (a wildcard address names nothing)
        named = [args.host] if args.host not in ("0.0.0.0", "::", "") else []
        args.allowed_hosts = ",".join(dict.fromkeys([*LOCAL_HOSTS, *named]))
        given.add("allowed_hosts")
    for name in given:  # flags win over the environment; unset flags leave it alone
        os.environ[f"DIGITREC_SERVE_{name.upper()}"] = str(getattr(args, name))
    settings = checked_settings(given)  # bad values fail here, in one line, not in every worker
    if not settings.model.endswith(".onnx"):
        resolve_model_path(settings.model)  # an unknown model is a usage error, before start-up
    from digitrec.export.runtime import load_classifier
    from digitrec.reading.reader import choose_reader
    from digitrec.serve.workers import (
        APP,
        listening_socket,
        reuse_port_available,
        serve_workers,
        shared_metrics,
    )

    # Say "address in use" now, not after the models have loaded.
    listening_socket(args.host, args.port, reuse_port=False).close()
    # A model or reader that cannot load is one line here (a DataError), not a traceback in
    # every worker: each worker loads them again, at start-up.
    load_classifier(settings.model, settings.backend)
    choose_reader(settings.reader)
    _say_where_the_token_is(settings)

    from digitrec.serve.connections import guarded_protocol

    options = dict(
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        # idle connections make room for new ones, heads are timed and bounded
        http=guarded_protocol(settings),
        timeout_keep_alive=settings.keep_alive_s,
    )
    if args.workers > 1 and reuse_port_available():  # one socket per worker: see serve.workers
        return serve_workers(args.host, args.port, args.workers, options)
    if args.workers == 1:
        # SIGHUP switches models once the app is up (app.py); before that it must not kill us
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        uvicorn.run(APP, factory=True, host=args.host, port=args.port, **options)
        return 0
    with shared_metrics():  # uvicorn's own workers (no SO_REUSEPORT here)
        uvicorn.run(
            APP, factory=True, host=args.host, port=args.port, workers=args.workers, **options
        )
    return 0


def _say_where_the_token_is(settings: "ServeSettings") -> None:
    """The token is made (when it is generated) before any worker starts, and its place said
    once; never the token itself."""
    import sys

    from digitrec.serve.auth import load_auth

    auth = load_auth(settings)
    which = "corrections and metrics" if settings.auth == "writes" else "all routes but /healthz"
    if auth.problem:
        print(f"digitrec serve: {auth.problem}: {which} refuse everyone", file=sys.stderr)
    elif auth.where != "given":
        print(
            f"digitrec serve: the API token for {which} is in {auth.where} (send it as "
            "Authorization: Bearer; the web page asks for it once)",
            file=sys.stderr,
        )


def checked_settings(flags: set[str]) -> "ServeSettings":
    """ServeSettings from flags and DIGITREC_SERVE_* variables, or a one-line UsageError naming
    the flag (or the variable) that is wrong."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from digitrec.errors import UsageError
    from digitrec.serve.settings import ServeSettings

    try:
        return ServeSettings()
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        where = f"--{name.replace('_', '-')}" if name in flags else f"DIGITREC_SERVE_{name.upper()}"
        raise UsageError(f"{where}: {first['msg']}") from None
    except SettingsError as error:
        raise UsageError(f"a DIGITREC_SERVE_* variable cannot be read: {error}") from None
