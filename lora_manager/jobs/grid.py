"""A labelled grid of sweep images (Pillow): one column per value of the x axis, one row per value of the y axis
(seeds, or a second LoRA's weights); a cell whose job failed is drawn grey with the word 'failed'."""

from __future__ import annotations

import os

MAX_CELL = 512  # a cell's longer side in the grid
PAD = 8


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # an older Pillow: its fixed bitmap font
        return ImageFont.load_default()


def make_grid(cells: list[list[str | None]], columns: list[str], rows: list[str], title: str = ""):
    """cells[row][column] is an image path or None; returns the grid as an RGB Pillow image."""
    from PIL import Image, ImageDraw

    opened = [[_open(path) for path in row] for row in cells]
    sizes = [im.size for row in opened for im in row if im is not None] or [(256, 256)]
    w, h = max(s[0] for s in sizes), max(s[1] for s in sizes)
    scale = min(1.0, MAX_CELL / max(w, h))
    w, h = max(1, int(w * scale)), max(1, int(h * scale))
    font = _font(max(12, w // 16))
    left = max([_text_width(font, r) for r in rows] + [0]) + 2 * PAD
    top = (font.size if hasattr(font, "size") else 12) + 2 * PAD
    head = top if title else 0
    grid = Image.new("RGB", (left + len(columns) * w, head + top + len(rows) * h), "white")
    draw = ImageDraw.Draw(grid)
    if title:
        draw.text((PAD, PAD), title[:200], fill="black", font=font)
    for c, label in enumerate(columns):
        draw.text((left + c * w + PAD, head + PAD), label, fill="black", font=font)
    for r, label in enumerate(rows):
        draw.text((PAD, head + top + r * h + h // 2), label, fill="black", font=font)
        for c in range(len(columns)):
            im = opened[r][c] if r < len(opened) and c < len(opened[r]) else None
            x, y = left + c * w, head + top + r * h
            if im is None:
                draw.rectangle([x, y, x + w - 1, y + h - 1], fill=(200, 200, 200))
                draw.text((x + PAD, y + h // 2), "failed", fill="black", font=font)
            else:
                grid.paste(im.convert("RGB").resize((w, h)), (x, y))
    return grid


def _text_width(font, text: str) -> int:
    try:
        return int(font.getlength(text))
    except AttributeError:
        return 8 * len(text)


def _open(path: str | None):
    from PIL import Image

    if not path or not os.path.isfile(path):
        return None
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except (OSError, ValueError):
        return None


def save_grid(image, path: str) -> str:
    """Write under a temporary name, then rename (never half a grid under the real name)."""
    tmp = path + ".part"
    try:
        image.save(tmp, format="PNG")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
