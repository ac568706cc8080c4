"""Tiny real PNG and JPEG previews, written without an image library.
"""

from __future__ import annotations

import colorsys
import random
import struct
import zlib
from functools import lru_cache

# --------------------------------------------------------------------------- images


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@lru_cache(maxsize=256)
def png_bytes(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real, decodable RGB PNG: a vertical gradient from `rgb` to a darker shade."""
    rows = bytearray()
    for y in range(height):
        k = 1.0 - 0.5 * y / max(1, height - 1)
        rows += b"\x00" + bytes(int(c * k) for c in rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + _png_chunk(b"IEND", b""))


def _dc_bits(value: int) -> tuple[int, int, int]:
    """(category, bits, nbits) of a JPEG DC difference."""
    cat = abs(value).bit_length()
    bits = value if value >= 0 else value + (1 << cat) - 1
    return cat, bits, cat


@lru_cache(maxsize=256)
def jpeg_bytes(rgb: tuple[int, int, int]) -> bytes:
    """A real, decodable 8x8 baseline JPEG of one flat colour (YCbCr 4:4:4, q=1)."""
    r, g, b = rgb
    ycc = (0.299 * r + 0.587 * g + 0.114 * b, 128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
           128 + 0.5 * r - 0.418688 * g - 0.081312 * b)
    # DC table: categories 0..11 all 4-bit codes 0000..1011; AC table: EOB only ("0").
    acc, nacc = 0, 0
    for level in ycc:
        cat, bits, nbits = _dc_bits(round(8 * (level - 128)))
        acc, nacc = (acc << 4) | cat, nacc + 4
        acc, nacc = (acc << nbits) | bits, nacc + nbits
        acc, nacc = acc << 1, nacc + 1  # EOB
    pad = (-nacc) % 8
    acc, nacc = (acc << pad) | ((1 << pad) - 1), nacc + pad
    scan = acc.to_bytes(nacc // 8, "big").replace(b"\xff", b"\xff\x00")

    def seg(marker: int, body: bytes) -> bytes:
        return struct.pack(">HH", marker, len(body) + 2) + body

    dht_dc = bytes([0x00]) + bytes([0, 0, 0, 12] + [0] * 12) + bytes(range(12))
    dht_ac = bytes([0x10]) + bytes([1] + [0] * 15) + b"\x00"
    sof = struct.pack(">BHHB", 8, 8, 8, 3) + bytes([1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0])
    sos = bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])
    return (b"\xff\xd8" + seg(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            + seg(0xFFDB, b"\x00" + b"\x01" * 64) + seg(0xFFC0, sof) + seg(0xFFC4, dht_dc)
            + seg(0xFFC4, dht_ac) + seg(0xFFDA, sos) + scan + b"\xff\xd9")


PREVIEW_KINDS = ("preview.png", "png", "thumb.jpg", "example.1.jpg")


def preview_bytes(kind: str, rng: random.Random, size: int = 16) -> bytes:
    hue = rng.randrange(32)
    rgb = tuple(int(40 + 215 * v) for v in colorsys.hsv_to_rgb(hue / 32, 0.7, 0.95))
    return png_bytes(size, size, rgb) if kind.endswith("png") else jpeg_bytes(rgb)
