"""Share card images: an editor's upload checked and re-encoded server-side (only PNG, JPEG or WebP under a size
limit; decoded, metadata such as GPS dropped, scaled to the card size), or a card drawn from the campaign title."""
from __future__ import annotations

import io
import textwrap

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
CARD_SIZE = (1200, 630)  # what Open Graph and Twitter's large card expect
ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP"}


class ImageRejected(ValueError):
    """The upload is not an image we accept; the message says why, for the editor."""


def reencode(data: bytes) -> tuple[bytes, str]:
    """(bytes, MIME type) of the upload re-encoded as JPEG (or PNG when it has transparency), at most the card
    size; raises ImageRejected with a readable reason."""
    if not data:
        raise ImageRejected("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected(f"The image is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            width, height = probe.size
            if kind not in ALLOWED_FORMATS:
                raise ImageRejected("Upload a PNG, JPEG or WebP image.")
            if width * height > MAX_PIXELS:
                raise ImageRejected("The image has too many pixels.")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
            image = image.convert("RGBA" if has_alpha else "RGB")
    except ImageRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageRejected("Upload a PNG, JPEG or WebP image.") from None
    if width < 200 or height < 100:
        raise ImageRejected("The image is too small: use at least 600 × 315 pixels (1200 × 630 is best).")
    image.thumbnail(CARD_SIZE)
    out = io.BytesIO()
    if has_alpha:
        image.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue(), "image/jpeg"


def default_card(title: str, subtitle: str = "") -> bytes:
    """A PNG card with the campaign's title, for campaigns without an uploaded image."""
    image = Image.new("RGB", CARD_SIZE, (22, 52, 96))
    draw = ImageDraw.Draw(image)
    big, small = ImageFont.load_default(size=64), ImageFont.load_default(size=34)
    y = 120
    for line in textwrap.wrap(title, width=30)[:4]:
        draw.text((80, y), line, fill=(255, 255, 255), font=big)
        y += 80
    for line in textwrap.wrap(subtitle, width=55)[:3]:
        draw.text((80, y + 20), line, fill=(220, 230, 245), font=small)
        y += 46
    draw.rectangle((0, CARD_SIZE[1] - 24, CARD_SIZE[0], CARD_SIZE[1]), fill=(250, 190, 40))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
