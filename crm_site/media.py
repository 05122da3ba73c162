"""Uploaded files (/media/...) are served only to a signed-in member of staff who may see
the record that owns the file. An app names its upload folders and a check in its
AppConfig: `media_owners = {"inspections/": "inspections.selectors.photo_visible"}`; the
check is called as check(user, name) with the file's name as stored in its FileField.
A file no app owns, or that the user may not see, answers 404 (like another store's
record). In production the file itself is sent by the proxy (MEDIA_ACCEL_REDIRECT)."""

import mimetypes
import posixpath

from django.apps import apps
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.utils.module_loading import import_string
from django.views.static import serve


def owners():
    """{folder prefix: check} from every installed app."""
    found = {}
    for config in apps.get_app_configs():
        for prefix, dotted in getattr(config, "media_owners", {}).items():
            found[prefix] = import_string(dotted)
    return found


def may_see(user, name):
    name = posixpath.normpath(name).lstrip("/")
    if name.startswith("..") or "\x00" in name:
        return False
    for prefix, check in owners().items():
        if name.startswith(prefix):
            return bool(check(user, name))
    return False


@login_required
def media(request, path):
    if not may_see(request.user, path):
        raise Http404
    accel = getattr(settings, "MEDIA_ACCEL_REDIRECT", "")
    if accel:
        response = HttpResponse()
        response["X-Accel-Redirect"] = accel.rstrip("/") + "/" + posixpath.normpath(path).lstrip("/")
        content_type, _encoding = mimetypes.guess_type(path)
        response["Content-Type"] = content_type or "application/octet-stream"
        return response
    return serve(request, path, document_root=settings.MEDIA_ROOT)
