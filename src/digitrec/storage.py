"""How files land on disk and come back: atomic writes, SHA-256 verification, bounded reads.

Every write goes to a temporary file in the destination folder and is renamed over the target only
once complete (and, for verified files, only once its checksum matches), so an interrupted process
never leaves a half-written file that a later run would trust.
"""

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from digitrec.errors import ChecksumError, DataError

CHUNK_BYTES = 1 << 20


# (device, inode, size, mtime) -> SHA-256: a file hashed once in a process is not hashed again
# unless it changed. Atomic replacement gives a new inode, so a rewritten file is always rehashed.
_hash_memo: dict[tuple[int, int, int, int], str] = {}


def read_regular_file(path: Path, max_bytes: int, too_large: type[DataError] = DataError) -> bytes:
    """The bytes of a regular file (links resolved), at most `max_bytes` of them.

    A FIFO, a device, a socket or a directory is refused without reading from it (opened
    non-blocking, so a FIFO with no writer cannot hang us), and the cap is enforced while reading,
    not trusted from the size a file claims (/proc files and growing files lie). Errors are
    DataError (`too_large`, one of its kinds, for a file over the cap), one line each."""
    try:
        descriptor = os.open(
            path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        )
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from error
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise DataError(f"{path}: is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise DataError(f"{path}: not a regular file (a pipe, device or socket); not read")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from error
    finally:
        os.close(descriptor)
    if len(data) > max_bytes:
        raise too_large(f"{path}: file is over the {max_bytes:,}-byte limit")
    return data


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    stat = path.stat()
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _hash_memo:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
        _hash_memo[key] = digest.hexdigest()
    return _hash_memo[key]


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path`; on clean exit it is flushed, synced and renamed onto
    `path`. On any exception the temporary file is removed and `path` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file ordinary permissions
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


# Read once at import, before any threads: os.umask can only be read by setting it.
_UMASK = _read_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path) as handle:
        handle.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, record: Any, indent: int = 2) -> None:
    """A JSON file (indented, one trailing newline) written atomically; its folder is made when
    missing. How results, cards and configs are written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=indent) + "\n")


def read_json_object(path: Path, *, missing_ok: bool = False) -> dict[str, Any]:
    """A JSON object written by `atomic_write_json`; a one-line DataError when it is missing
    (or {} with `missing_ok`), unreadable or not an object."""
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise DataError(f"{path}: missing") from None
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not readable JSON ({error})") from None
    if not isinstance(record, dict):
        raise DataError(f"{path}: not a JSON object")
    return record


def write_hashed(
    path: Path, chunks: Iterable[bytes], expected_sha256: str | None = None, *, origin: str = ""
) -> str:
    """Stream `chunks` into `path` and return their SHA-256.

    With `expected_sha256`, the file is kept only if it matches; otherwise ChecksumError names the
    file and `origin` (where the bytes came from) and `path` is left as it was."""
    digest = hashlib.sha256()
    with atomic_writer(path) as handle:
        for chunk in chunks:
            digest.update(chunk)
            handle.write(chunk)
        actual = digest.hexdigest()
        if expected_sha256 is not None and actual != expected_sha256:
            raise ChecksumError(
                f"checksum mismatch for {path.name} from {origin}: "
                f"SHA-256 {actual}, expected {expected_sha256}"
            )
    return actual


def write_verified(
    path: Path, chunks: Iterable[bytes], expected_sha256: str, *, origin: str
) -> None:
    """Stream `chunks` into `path`, keeping the result only if its SHA-256 is `expected_sha256`."""
    write_hashed(path, chunks, expected_sha256, origin=origin)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_chunks(handle: Readable) -> Iterator[bytes]:
    """Yield a binary stream's content in fixed-size pieces."""
    while chunk := handle.read(CHUNK_BYTES):
        yield chunk
