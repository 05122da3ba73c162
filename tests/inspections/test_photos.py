"""Photos are accepted by content, never by name: a non-image, an oversized file or an
HTML page renamed .jpg is refused with a message naming the field, and nothing is
stored. Accepted photos are resized JPEGs with server time and uploader."""

import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from inspections import services
from inspections.models import Area, Outcome, Photo

from .conftest import MONDAY_0900
from .factories import html_as_jpg, image_bytes, jpeg, text_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_result(started, specialist, consultant):
    result = started(Area.DISPLAY_CARS).results.order_by("position").first()
    services.inspection_answer(result=result, actor=specialist, outcome=Outcome.FAIL, responsible=consultant)
    return result


def oversized_jpeg():
    """A real JPEG padded past the 10 MB limit: an image by content, too big by size."""
    return SimpleUploadedFile("big.jpg", image_bytes((64, 64)) + b"\0" * (10 * 1024 * 1024),
                              content_type="image/jpeg")


def bomb_png():
    out = io.BytesIO()
    Image.new("1", (8000, 7000)).save(out, format="PNG")
    return SimpleUploadedFile("huge.png", out.getvalue(), content_type="image/png")


@pytest.mark.parametrize(("upload", "words"), [
    (text_file, "不是有效的图片"),
    (html_as_jpg, "不是有效的图片"),
    (oversized_jpeg, "文件过大"),
    (bomb_png, "像素过多"),
    (lambda: SimpleUploadedFile("empty.jpg", b"", content_type="image/jpeg"), "空"),
])
def test_bad_upload_is_refused_and_nothing_stored(failed_result, specialist, media_files, upload, words):
    with pytest.raises(ValidationError) as error:
        services.result_add_photo(result=failed_result, actor=specialist, upload=upload())
    messages = error.value.message_dict["photo"]
    assert any(m.startswith("照片：") and words in m for m in messages), messages
    assert not Photo.objects.exists()
    assert media_files() == []


def test_size_limit_is_a_setting(failed_result, specialist, settings, media_files):
    settings.INSPECTIONS_PHOTO_MAX_BYTES = 1000
    with pytest.raises(ValidationError) as error:
        services.result_add_photo(result=failed_result, actor=specialist, upload=jpeg(size=(400, 300)))
    assert "文件过大" in error.value.message_dict["photo"][0]
    assert media_files() == []


def test_accepted_photo_is_resized_jpeg_with_server_time_and_uploader(failed_result, specialist, media_files):
    upload = SimpleUploadedFile("IMG_0001.PNG", image_bytes((4000, 3000), "PNG"), content_type="image/png")
    moment = datetime(2026, 11, 23, 1, 3, 7, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        photo = services.result_add_photo(result=failed_result, actor=specialist, upload=upload)
    photo.refresh_from_db()
    assert (photo.width, photo.height) == (1600, 1200)
    assert photo.uploaded_by == specialist and photo.uploaded_at == moment
    assert photo.original_name == "IMG_0001.PNG" and photo.kind == Photo.Kind.BEFORE
    assert photo.image.name.startswith("inspections/2026/11/23/") and photo.image.name.endswith(".jpg")
    [stored] = media_files()
    with Image.open(stored) as image:
        assert image.format == "JPEG" and max(image.size) == 1600
    assert photo.size == stored.stat().st_size


def test_phone_photo_is_turned_upright_and_loses_its_metadata(failed_result, specialist, media_files):
    image = Image.new("RGB", (400, 200), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    photo = services.result_add_photo(result=failed_result, actor=specialist,
                                      upload=SimpleUploadedFile("p.jpg", out.getvalue()))
    assert (photo.width, photo.height) == (200, 400)
    with Image.open(media_files()[0]) as stored:
        assert not stored.getexif()


def test_photos_only_while_round_is_open(started, walk, specialist, consultant, media_files):
    round_ = walk(started(Area.BAR, now=MONDAY_0900), [Outcome.PASS])
    with pytest.raises(ValidationError) as error:
        services.result_add_photo(result=round_.results.first(), actor=specialist, upload=jpeg())
    assert "inspection" in error.value.message_dict
    assert media_files() == []


def _segments(data):
    """The markers of a JPEG's header segments, up to the image data (SOS)."""
    assert data[:2] == b"\xff\xd8"
    markers, at = [], 2
    while at < len(data):
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: the pixels follow
            return markers
        at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    return markers


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF"])
def test_no_comment_or_metadata_segment_survives_the_re_encoding(failed_result, specialist,
                                                                 media_files, fmt):
    """An uploader hides text in the photo (JPEG COM segment, EXIF with a location, an
    ICC profile): the stored file carries pixels only."""
    image = Image.new("RGB", (300, 200), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010E] = "客户张三 13800138000"  # image description
    out = io.BytesIO()
    secret = "secret: customer lives at No. 1 Road"
    extra = {"comment": secret.encode()}
    if fmt == "JPEG":
        extra.update(exif=exif, icc_profile=b"\0" * 128)
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        extra = {"pnginfo": PngInfo()}
        extra["pnginfo"].add_text("Comment", secret)
    image.convert("P").save(out, format=fmt, **extra) if fmt == "GIF" else \
        image.save(out, format=fmt, **extra)
    assert b"secret" in out.getvalue()
    services.result_add_photo(result=failed_result, actor=specialist,
                              upload=SimpleUploadedFile(f"p.{fmt.lower()}", out.getvalue()))
    stored = media_files()[0].read_bytes()
    assert b"secret" not in stored and b"13800138000" not in stored
    # Only the JFIF header, quantisation and Huffman tables, the frame and the scan.
    assert set(_segments(stored)) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD, 0xDA}
    with Image.open(media_files()[0]) as photo:
        assert "comment" not in photo.info and "icc_profile" not in photo.info
        assert not photo.getexif()
