"""The generation text an image carries, read in memory and never trusted.

PNG: the text chunks before the pixels (`parameters` from SDNext/A1111, `prompt` and `workflow` from
ComfyUI, ours `lora-manager-recipe`); Pillow caps a compressed chunk at 1 MB and all text at 64 MB, and
we refuse a value over MAX_VALUE. JPEG and WebP: the EXIF UserComment (SDNext, A1111 and Civitai write
the infotext there), else the JPEG comment. The pixels are never decoded to read the text; the size
(bytes and pixels) is checked before anything else, so a decompression bomb is refused by its header.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

from ..errors import InvalidInput, LoraManagerError

MAX_BYTES = 32 << 20  # an uploaded image
MAX_PIXELS = 64_000_000  # width x height; the bomb check reads only the header
MAX_VALUE = 1 << 20  # one text value (a ComfyUI workflow is tens of KB)
FORMATS = ("PNG", "JPEG", "WEBP")
KEYS = ("parameters", "prompt", "workflow", "lora-manager-recipe", "comment", "Description")
USER_COMMENT, EXIF_IFD, IMAGE_DESCRIPTION = 0x9286, 0x8769, 0x010E


class ImageTooLarge(LoraManagerError):
    status = 413
    code = "too_large"


class BadImage(InvalidInput):
    code = "bad_image"


@dataclass(slots=True)
class ImageTexts:
    format: str
    width: int
    height: int
    texts: dict[str, str] = field(default_factory=dict)


def open_image(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS):
    """Pillow's image over `data`, its header read and checked (format, size); pixels not decoded."""
    if len(data) > max_bytes:
        raise ImageTooLarge(f"an image of at most {max_bytes >> 20} MB, this one has {len(data) >> 20} MB")
    if not data:
        raise BadImage("the image is empty")
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(f"the image's dimensions are absurd (over {max_pixels} pixels): refused unread") from None
    except ValueError as exc:  # Pillow's caps on text chunks (1 MB decompressed each, 64 MB in all)
        raise BadImage(f"a text chunk of the image is too large or damaged ({exc}): refused") from None
    except Exception as exc:  # Pillow raises many kinds on hostile bytes
        raise BadImage(f"not an image we can read (PNG, JPEG or WebP): {type(exc).__name__}") from None
    if img.format not in FORMATS:
        raise BadImage(f"a {img.format} image: only PNG, JPEG and WebP carry generation parameters we read")
    width, height = img.size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise BadImage(f"the image is {width}x{height}: over {max_pixels} pixels, refused unread")
    return img


def read_texts(data: bytes, *, max_bytes: int = MAX_BYTES) -> ImageTexts:
    """The generation texts of an image (keys as in KEYS; EXIF's as `parameters`)."""
    img = open_image(data, max_bytes=max_bytes)
    out = ImageTexts(img.format, img.size[0], img.size[1])
    try:
        info = dict(img.info)  # PNG text chunks before the pixels; JPEG's comment
    except ValueError as exc:  # a compressed chunk over Pillow's limit
        raise BadImage(f"a text chunk of the image is too large: {exc}") from None
    for key in KEYS:
        value = info.get(key)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str) and value.strip():
            if len(value) > MAX_VALUE:
                raise BadImage(f"the image's '{key}' text is {len(value)} characters: over {MAX_VALUE}, refused")
            out.texts[key] = value.replace("\x00", "")
    if img.format in ("JPEG", "WEBP") and "parameters" not in out.texts:
        comment = _exif_comment(img)
        if comment:
            out.texts["parameters"] = comment
    if "comment" in out.texts and "parameters" not in out.texts:
        out.texts["parameters"] = out.texts.pop("comment")
    return out


def _exif_comment(img) -> str | None:
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            exif = img.getexif()
            raw = exif.get_ifd(EXIF_IFD).get(USER_COMMENT)
            if raw is None:
                raw = exif.get(IMAGE_DESCRIPTION)
    except Exception as exc:  # damaged IFDs: struct errors, bad offsets, loops
        raise BadImage(f"the image's EXIF data is damaged ({type(exc).__name__}): no parameters can be read") from None
    if raw is None and any("Corrupt EXIF" in str(w.message) for w in seen):  # Pillow reads on, empty-handed
        raise BadImage("the image's EXIF data is damaged (Pillow: corrupt EXIF): no parameters can be read")
    if raw is None:
        return None
    text = decode_user_comment(raw) if isinstance(raw, bytes) else str(raw)
    if len(text) > MAX_VALUE:
        raise BadImage(f"the image's EXIF comment is {len(text)} characters: over {MAX_VALUE}, refused")
    return text.replace("\x00", "").strip() or None


def decode_user_comment(raw: bytes) -> str:
    """EXIF UserComment: an 8-byte code (ASCII, UNICODE, JIS, undefined) then the text. UNICODE is
    UTF-16 of either byte order in the wild (piexif writes big-endian, others little)."""
    head, body = raw[:8], raw[8:]
    if head == b"UNICODE\x00":
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return body.decode("utf-16", "replace")
        even = body[0::2].count(0)
        odd = body[1::2].count(0)
        return body.decode("utf-16-be" if even > odd else "utf-16-le", "replace")
    if head in (b"ASCII\x00\x00\x00", b"\x00" * 8):
        return body.decode("utf-8", "replace")
    if head.startswith(b"JIS"):
        return body.decode("shift_jis", "replace")
    return raw.decode("utf-8", "replace")


def thumbnail(img, side: int = 768) -> bytes:
    """The image scaled to fit `side`, as WebP without any metadata (a recipe's cover)."""
    from PIL import Image

    try:
        if img.format == "JPEG":
            img.draft("RGB", (side, side))
        img.thumbnail((side, side), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        img.convert("RGB").save(buf, "WEBP", quality=85)
    except Exception as exc:  # truncated pixel data and the like: the recipe is kept without a cover
        raise BadImage(f"the image's pixels cannot be read: {type(exc).__name__}") from None
    return buf.getvalue()
