"""The IDX file format of MNIST and EMNIST: a strict parser and a writer.

Layout: two zero bytes, a dtype code, the number of dimensions, one big-endian uint32 per dimension,
then the values in big-endian C order. The parser checks every one of those against the file size,
so a truncated or corrupt file fails with a message saying what is wrong instead of yielding garbage.
"""

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from digitrec.errors import DataError

# dtype code -> big-endian numpy dtype
IDX_DTYPES: dict[int, np.dtype[np.generic]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"


def parse_idx(data: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode an IDX byte string into an array of native byte order (uint8 stays zero-copy).

    Raises DataError naming `name` if the header is malformed or the size does not match."""
    if len(data) < 4:
        raise DataError(f"{name}: not an IDX file ({len(data)} bytes, the header alone needs 4)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise DataError(f"{name}: not an IDX file (bad magic number 0x{data[:4].hex()})")
    if code not in IDX_DTYPES:
        raise DataError(f"{name}: unknown IDX dtype code 0x{code:02x}")
    if ndim == 0:
        raise DataError(f"{name}: IDX header declares zero dimensions")
    header_bytes = 4 + 4 * ndim
    if len(data) < header_bytes:
        raise DataError(f"{name}: truncated IDX header ({len(data)} of {header_bytes} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header_bytes])
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize  # exact: np.prod could overflow int64
    found = len(data) - header_bytes
    if found < expected:
        raise DataError(
            f"{name}: truncated IDX file: dimensions {'x'.join(map(str, dims))} need "
            f"{expected} data bytes, found {found}"
        )
    if found > expected:
        raise DataError(
            f"{name}: corrupt IDX file: {found - expected} bytes after the "
            f"{'x'.join(map(str, dims))} data"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_bytes).reshape(dims)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    return array


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed (detected by content, not by name)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from error
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{path}: corrupt gzip stream ({error})") from error
    return parse_idx(data, name=str(path))


def encode_idx(array: np.ndarray) -> bytes:
    """Encode an array as IDX bytes (the inverse of `parse_idx`)."""
    for code, dtype in IDX_DTYPES.items():
        if array.dtype.kind == dtype.kind and array.dtype.itemsize == dtype.itemsize:
            header = struct.pack(">HBB", 0, code, array.ndim)
            header += struct.pack(f">{array.ndim}I", *array.shape)
            return header + np.ascontiguousarray(array, dtype=dtype).tobytes()
    raise ValueError(f"IDX cannot store dtype {array.dtype}")
