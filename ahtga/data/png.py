"""A small PNG decoder (standard library ``zlib`` only), enough for Lake et al.'s Omniglot runs.

Supports non-interlaced greyscale (bit depth 1, 2, 4, 8, 16), greyscale + alpha, RGB and RGBA
(bit depth 8), with the five scanline filters of the PNG specification (W3C PNG 2nd ed., sec. 9:
None, Sub, Up, Average, Paeth). Palette and interlaced images raise ``ValueError``; use Pillow
for those (:func:`ahtga.data.folders.decode_image`).
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def decode_png(data: bytes) -> np.ndarray:
    """Decode PNG bytes to an array ``[H, W]`` (greyscale) or ``[H, W, C]``.

    Values are the stored samples: uint8 for bit depth <= 8 (depths 1/2/4 are *not* rescaled: a
    1-bit image holds 0 and 1), uint16 for depth 16.
    """
    if data[:8] != _SIGNATURE:
        raise ValueError("not a PNG file: bad signature")
    pos, ihdr, idat = 8, None, []
    while pos + 8 <= len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + n
    if ihdr is None or not idat:
        raise ValueError("PNG without IHDR or IDAT chunk")
    width, height, depth, color, _, _, interlace = ihdr
    if color not in _CHANNELS or interlace != 0 or (color != 0 and depth not in (8,)) \
            or depth not in (1, 2, 4, 8, 16):
        raise ValueError(f"unsupported PNG (colour type {color}, bit depth {depth}, interlace "
                         f"{interlace}); decode it with Pillow instead")
    ch = _CHANNELS[color]
    bits_pp = depth * ch
    stride = (width * bits_pp + 7) // 8
    bpp = max(1, bits_pp // 8)
    raw = zlib.decompress(b"".join(idat))
    if len(raw) != height * (stride + 1):
        raise ValueError(f"PNG data has {len(raw)} bytes; expected {height * (stride + 1)}")
    rows = np.frombuffer(raw, np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for r in range(height):
        f, line = rows[r, 0], rows[r, 1:].astype(np.int32)
        if f == 0:
            cur = line
        elif f == 2:
            cur = (line + prev) & 0xFF
        else:
            cur = np.zeros(stride, np.int32)
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b = prev[i]
                if f == 1:
                    pred = a
                elif f == 3:
                    pred = (a + b) // 2
                elif f == 4:
                    c = prev[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                else:
                    raise ValueError(f"bad PNG filter type {f} in row {r}")
                cur[i] = (line[i] + pred) & 0xFF
        out[r] = cur
        prev = cur
    if depth < 8:
        bits = np.unpackbits(out, axis=1)
        bits = bits.reshape(height, -1, depth)[:, :width]
        weights = (1 << np.arange(depth - 1, -1, -1)).astype(np.uint8)
        return (bits * weights).sum(-1).astype(np.uint8)
    if depth == 16:
        img = out.view(">u2").astype(np.uint16)
    else:
        img = out
    img = img.reshape(height, width, ch)
    return img[:, :, 0] if ch == 1 else img
