"""Factories and helpers of the inspections tests: checklists, rounds and image files."""

import io
from datetime import UTC, datetime

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from inspections.models import Area, ChecklistItem, ChecklistTemplate, Inspection, RoundRule, Severity


class ChecklistTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistTemplate

    area = Area.SHOWROOM
    name = factory.LazyAttribute(lambda o: f"{o.area} 检查")


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistItem

    template = factory.SubFactory(ChecklistTemplateFactory)
    position = factory.Sequence(lambda n: n + 1)
    text = factory.Sequence(lambda n: f"标准{n}")
    weight = 1
    photo_required = False
    severity = Severity.MINOR


class RoundRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoundRule

    template = factory.SubFactory(ChecklistTemplateFactory)
    time_of_day = factory.Sequence(lambda n: f"{8 + n % 10:02d}:00")


class InspectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inspection

    template = factory.SubFactory(ChecklistTemplateFactory)
    store = factory.SelfAttribute("template.store")
    area = factory.SelfAttribute("template.area")
    day = factory.LazyAttribute(lambda o: o.scheduled_for.date())
    scheduled_for = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def image_bytes(size=(800, 600), fmt="JPEG", colour=(200, 30, 30)):
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


def jpeg(name="photo.jpg", size=(800, 600), fmt="JPEG"):
    return SimpleUploadedFile(name, image_bytes(size, fmt), content_type="image/jpeg")


def html_as_jpg():
    page = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
    return SimpleUploadedFile("photo.jpg", page, content_type="image/jpeg")


def text_file():
    return SimpleUploadedFile("notes.txt", "这不是图片".encode(), content_type="text/plain")
