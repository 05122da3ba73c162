"""Attachments are checked by what they contain, not by their names."""

import io

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

# (content type, leading bytes, extension)
SIGNATURES = [
    ("image/jpeg", b"\xff\xd8\xff", "jpg"),
    ("image/png", b"\x89PNG\r\n\x1a\n", "png"),
    ("image/gif", b"GIF8", "gif"),
    ("application/pdf", b"%PDF-", "pdf"),
]
IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
OFFICE = {
    "word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


def sniff(head: bytes, reader=None):
    """(content type, extension) of a file from its first bytes, or (None, None)."""
    for content_type, magic, extension in SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    if head.startswith(b"PK\x03\x04") and reader is not None:
        import zipfile

        try:
            names = zipfile.ZipFile(reader).namelist()
        except zipfile.BadZipFile:
            return None, None
        for prefix, (content_type, extension) in OFFICE.items():
            if any(name.startswith(prefix) for name in names):
                return content_type, extension
    return None, None


def validate_attachment(upload):
    """Return (content type, extension) of an uploaded photo or document; raise
    ValidationError({'file': ...}) for anything else, whatever its name says."""
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise ValidationError({"file": _("附件不能超过10MB。")})
    if upload.size == 0:
        raise ValidationError({"file": _("附件是空文件。")})
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    content_type, extension = sniff(data[:16], io.BytesIO(data))
    if content_type is None:
        raise ValidationError({"file": _("只能上传照片（JPEG、PNG、GIF、WebP）或文档（PDF、Word、Excel）。")})
    if content_type in IMAGES:
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
        except Exception as error:  # noqa: BLE001 - any decoder failure means a broken image
            raise ValidationError({"file": _("图片文件已损坏，无法打开。")}) from error
    return content_type, extension
