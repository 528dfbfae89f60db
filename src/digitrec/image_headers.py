"""What encoded image bytes claim to be, read from their header before anything is decoded: the
format (by magic bytes, never by file name) and the width and height.

Only formats whose size can be read here are decoded at all, so the pixel limit is always checked
before the decoder allocates anything: a 35-byte GIF that claims 20,000 × 20,000 pixels is refused
at once, not after 3 GB of decoding.
"""

FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WebP", "GIF", "PNM")


def sniff(data: bytes) -> tuple[str | None, tuple[int, int] | None]:
    """(format, (width, height)) from the header. format None: not a supported image; size None:
    a supported format whose header is truncated or corrupt."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        size = _be(data, 16, 4), _be(data, 20, 4)
        return "PNG", size if len(data) >= 24 else None
    if data.startswith(b"\xff\xd8"):
        return "JPEG", _jpeg_size(data)
    if data.startswith(b"BM"):
        if len(data) < 26:
            return "BMP", None
        if _le(data, 14, 4) == 12:  # OS/2 1.x core header: 16-bit sizes
            return "BMP", (_le(data, 18, 2), _le(data, 20, 2))
        width = int.from_bytes(data[18:22], "little", signed=True)
        height = int.from_bytes(data[22:26], "little", signed=True)  # negative: top-down rows
        return "BMP", (abs(width), abs(height))
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF", _tiff_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP", _webp_size(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF", (_le(data, 6, 2), _le(data, 8, 2)) if len(data) >= 10 else None
    if len(data) >= 2 and data[0:1] == b"P" and data[1:2] in b"123456":
        return "PNM", _pnm_size(data)
    return None, None


def _be(data: bytes, at: int, size: int) -> int:
    return int.from_bytes(data[at : at + size], "big")


def _le(data: bytes, at: int, size: int) -> int:
    return int.from_bytes(data[at : at + size], "little")


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the JPEG markers to the first start-of-frame and read its dimensions."""
    position = 2
    while position + 9 < len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return _be(data, position + 7, 2), _be(data, position + 5, 2)
        position += 2 + _be(data, position + 2, 2)
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) of the first image file directory."""
    order = "little" if data[:2] == b"II" else "big"

    def number(at: int, size: int) -> int:
        return int.from_bytes(data[at : at + size], order)  # type: ignore[arg-type]

    directory = number(4, 4)
    if directory + 2 > len(data):
        return None
    found: dict[int, int] = {}
    for entry in range(number(directory, 2)):
        at = directory + 2 + 12 * entry
        if at + 12 > len(data):
            return None
        tag, kind = number(at, 2), number(at + 2, 2)
        if tag in (256, 257) and kind in (3, 4):  # SHORT or LONG
            found[tag] = number(at + 8, 2 if kind == 3 else 4)
    if 256 not in found or 257 not in found:
        return None
    return found[256], found[257]


def _webp_size(data: bytes) -> tuple[int, int] | None:
    """The canvas of an extended (VP8X), lossless (VP8L) or lossy (VP8 ) WebP."""
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return _le(data, 24, 3) + 1, _le(data, 27, 3) + 1
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = _le(data, 21, 4)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return _le(data, 26, 2) & 0x3FFF, _le(data, 28, 2) & 0x3FFF
    return None


def _pnm_size(data: bytes) -> tuple[int, int] | None:
    """Width and height: the first two numbers after the magic, skipping # comments."""
    numbers: list[int] = []
    for line in data[2:512].split(b"\n"):
        for word in line.split(b"#", 1)[0].split():
            if not word.isdigit():
                return None
            numbers.append(int(word))
            if len(numbers) == 2:
                return numbers[0], numbers[1]
    return None
