"""Checking and preparing an uploaded photo before anything is stored.

A file is accepted by what it contains, never by its name or the browser's content
type: Pillow must recognise it as JPEG, PNG, WebP or GIF and decode it completely.
Accepted photos are turned upright (EXIF orientation), shrunk to at most
INSPECTIONS_PHOTO_MAX_SIDE pixels on the long side and re-encoded as JPEG from their
pixels alone: no metadata the phone or an editor wrote (EXIF with the location, XMP,
comments, ICC profiles) reaches the stored file.
"""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}
MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 1600
MAX_PIXELS = 50_000_000


def max_bytes():
    return getattr(settings, "INSPECTIONS_PHOTO_MAX_BYTES", MAX_BYTES)


@dataclass(frozen=True)
class PreparedPhoto:
    content: bytes
    width: int
    height: int
    original_name: str


def _reject(field, message):
    raise ValidationError({field: _("%(field)s：%(message)s") % {"field": _("照片"), "message": message}})


def prepare(upload, *, field="photo") -> PreparedPhoto:
    """Validate `upload` (a Django UploadedFile or any file object) and return the
    JPEG bytes to store. Raises ValidationError({field: message}) otherwise."""
    if upload is None:
        _reject(field, _("请选择一张照片。"))
    size = getattr(upload, "size", None)
    limit = max_bytes()
    if size is not None and size > limit:
        _reject(field, _("文件过大（%(size)s MB），上限为 %(limit)s MB。") % {
            "size": f"{size / 1048576:.1f}", "limit": f"{limit / 1048576:.0f}"})
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        _reject(field, _("文件过大，上限为 %(limit)s MB。") % {"limit": f"{limit / 1048576:.0f}"})
    if not data:
        _reject(field, _("文件是空的。"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                image_format = probe.format
                if probe.width * probe.height > MAX_PIXELS:
                    _reject(field, _("图片像素过多。"))
                probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        _reject(field, _("文件不是有效的图片（请上传 JPEG、PNG 或 WebP 照片）。"))
    if image_format not in ALLOWED_FORMATS:
        _reject(field, _("不支持的图片格式 %(format)s（请上传 JPEG、PNG 或 WebP 照片）。") % {
            "format": image_format})
    image = ImageOps.exif_transpose(image)
    if image.mode != "RGB":
        image = image.convert("RGB")
    side = getattr(settings, "INSPECTIONS_PHOTO_MAX_SIDE", MAX_SIDE)
    image.thumbnail((side, side))
    # A new image holds the pixels and nothing else: Pillow would otherwise write the
    # upload's comment (JPEG COM segment) back into the re-encoded file.
    pixels_only = Image.new("RGB", image.size)
    pixels_only.paste(image)
    out = io.BytesIO()
    pixels_only.save(out, format="JPEG", quality=82, optimize=True)
    name = str(getattr(upload, "name", "") or "")[-200:]
    return PreparedPhoto(out.getvalue(), image.width, image.height, name)
