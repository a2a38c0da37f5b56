"""Images with numpy alone: a PNG reader/writer (zlib) and the resampling the vision
models' preprocessing needs (centre crop, antialiased resize, letterbox).

``edgelite demo`` runs from a plain install, so nothing here may need Pillow, OpenCV or
scikit-image. Images are ``uint8`` arrays of shape (H, W, 3), RGB.

PNG (ISO/IEC 15948): a signature, then chunks (length, type, data, CRC). IHDR gives size,
bit depth and colour type; the IDAT chunks together are one zlib stream of scanlines, each
a filter-type byte followed by the filtered bytes. Filters predict a byte from its left
(``a``), upper (``b``) and upper-left (``c``) neighbours; None/Sub/Up are undone with
whole-row numpy operations, Average/Paeth (whose predictions chain along the row) byte by
byte. The writer uses Up for every row, so the bundled photo decodes fast.
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}   # colour type -> samples per pixel


class ImageError(ValueError):
    """An image file that cannot be read (names the file and what is wrong)."""


def read_png(path) -> np.ndarray:
    """The PNG at ``path`` as (H, W, 3) uint8 RGB (grey expanded, alpha and 16-bit
    precision dropped). Non-interlaced PNGs of any colour type and bit depth 8 or 16."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"image {str(path)!r} does not exist") from None
    try:
        return _decode_png(data)
    except (struct.error, zlib.error, IndexError, KeyError) as e:
        raise ImageError(f"{str(path)!r} is not a readable PNG: {e}") from None
    except ImageError as e:
        raise ImageError(f"{str(path)!r}: {e}") from None


def _chunks(data: bytes):
    if data[:8] != PNG_SIGNATURE:
        raise ImageError("not a PNG file (bad signature)")
    pos = 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 12 + length


def _decode_png(data: bytes) -> np.ndarray:
    header, palette, idat = None, None, []
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = np.frombuffer(body, np.uint8).reshape(-1, 3)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None or not idat:
        raise ImageError("PNG without IHDR or IDAT")
    width, height, depth, colour, _, _, interlace = header
    if interlace:
        raise ImageError("interlaced PNGs are not supported")
    if colour not in _CHANNELS or depth not in (8, 16) and not (colour in (0, 3) and depth < 8):
        raise ImageError(f"unsupported PNG colour type {colour} / bit depth {depth}")
    channels = _CHANNELS[colour]
    bits_per_pixel = channels * depth
    raw = zlib.decompress(b"".join(idat))
    rows = _unfilter(raw, height, (width * bits_per_pixel + 7) // 8,
                     max(1, bits_per_pixel // 8))
    if depth < 8:   # packed grey or palette indices
        shifts = np.arange(8 - depth, -1, -depth, dtype=np.uint8)
        values = (rows[:, :, None] >> shifts) & ((1 << depth) - 1)
        pixels = values.reshape(height, -1)[:, :width, None]
        if colour == 0:
            pixels = (pixels.astype(np.uint16) * 255 // ((1 << depth) - 1)).astype(np.uint8)
    elif depth == 16:
        pixels = rows.reshape(height, width, channels, 2)[..., 0]   # high bytes
    else:
        pixels = rows.reshape(height, width, channels)
    if colour == 3:
        if palette is None:
            raise ImageError("palette PNG without PLTE")
        return palette[pixels[..., 0]]
    if colour in (0, 4):
        return np.repeat(pixels[..., :1], 3, axis=2)
    return np.ascontiguousarray(pixels[..., :3])


def _unfilter(raw: bytes, height: int, stride: int, bpp: int) -> np.ndarray:
    scan = np.frombuffer(raw, np.uint8)[:height * (stride + 1)].reshape(height, stride + 1)
    out = np.zeros((height, stride), np.uint8)
    prior = np.zeros(stride, np.uint8)
    for y in range(height):
        kind, line = scan[y, 0], scan[y, 1:]
        if kind == 0:
            out[y] = line
        elif kind == 1:   # Sub: a running sum per byte position within the pixel
            padded = np.zeros(-(-stride // bpp) * bpp, np.uint64)
            padded[:stride] = line
            out[y] = (np.cumsum(padded.reshape(-1, bpp), axis=0).ravel()[:stride] % 256)
        elif kind == 2:
            out[y] = line + prior
        elif kind in (3, 4):
            out[y] = _unfilter_sequential(bytes(line), bytes(prior), bpp, kind)
        else:
            raise ImageError(f"bad PNG filter type {kind} in row {y}")
        prior = out[y]
    return out


def _unfilter_sequential(line: bytes, prior: bytes, bpp: int, kind: int) -> np.ndarray:
    """Average (3) and Paeth (4), byte by byte (each prediction uses the byte just made)."""
    row = bytearray(line)
    for i in range(len(row)):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i]
        if kind == 3:
            row[i] = (row[i] + ((a + b) >> 1)) & 0xFF
            continue
        c = prior[i - bpp] if i >= bpp else 0
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
        row[i] = (row[i] + pred) & 0xFF
    return np.frombuffer(bytes(row), np.uint8)


def write_png(path, rgb: np.ndarray) -> None:
    """Write (H, W, 3) uint8 RGB as an 8-bit PNG, Up filter on every row, zlib level 9."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    height, width = rgb.shape[:2]
    rows = rgb.reshape(height, width * 3)
    up = rows - np.vstack([np.zeros((1, width * 3), np.uint8), rows[:-1]])
    raw = np.hstack([np.full((height, 1), 2, np.uint8), up]).tobytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    Path(path).write_bytes(PNG_SIGNATURE + chunk(b"IHDR", header)
                           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


# ----------------------------------------------------------------------- resampling
@lru_cache(maxsize=32)
def _resample_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Input indices and weights, (n_out, taps) each, of a triangle (linear) filter
    widened by the reduction factor when shrinking, so every input pixel counts
    (antialiasing, as PIL's BILINEAR). Taps past the edges have weight 0."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale                  # in input pixel units
    first = np.floor(centres - support).astype(np.int64)
    taps = int(np.ceil(2 * support)) + 2
    index = first[:, None] + np.arange(taps)[None, :]
    weight = np.clip(1.0 - np.abs(index + 0.5 - centres[:, None]) / support, 0.0, None)
    weight[(index < 0) | (index >= n_in)] = 0.0
    weight /= weight.sum(axis=1, keepdims=True)
    return np.clip(index, 0, n_in - 1), weight.astype(np.float32)


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W, C) image resized to (height, width, C) float32 with an antialiased linear
    filter: separable, one weighted gather per filter tap and axis (the filter is a
    narrow band, so this costs a few multiply-adds per output value)."""
    h, w, _ = image.shape
    iy, wy = _resample_taps(h, height)
    ix, wx = _resample_taps(w, width)
    rows = np.zeros((height, w, image.shape[2]), np.float32)
    for t in range(iy.shape[1]):
        rows += wy[:, t, None, None] * image[iy[:, t]]
    out = np.zeros((height, width, image.shape[2]), np.float32)
    for t in range(ix.shape[1]):
        out += wx[None, :, t, None] * rows[:, ix[:, t]]
    return out


def centre_square(image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The largest centred square of ``image`` and its top-left corner (x, y)."""
    h, w = image.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return image[y:y + s, x:x + s], (x, y)


def letterbox(image: np.ndarray, height: int, width: int, fill: float = 0.0
              ) -> tuple[np.ndarray, tuple[float, float], tuple[int, int]]:
    """``image`` scaled to fit (height, width) with its aspect ratio kept, centred on a
    ``fill`` background (float32). Returns the canvas, the scales (x, y: canvas pixels per
    image pixel) and the image's top-left offset (x, y) on the canvas, to map results
    back to image pixels."""
    h, w = image.shape[:2]
    scale = min(height / h, width / w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    canvas = np.full((height, width, image.shape[2]), fill, np.float32)
    y, x = (height - nh) // 2, (width - nw) // 2
    canvas[y:y + nh, x:x + nw] = resize(image, nh, nw)
    return canvas, (nw / w, nh / h), (x, y)
