"""Whatever app an endpoint belongs to, a service that refuses answers the API client the
same way: 400 naming the field it rejects (non_field_errors when it names none), 403 with
its reason, in the user's language: Chinese unless the language cookie says English."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import path
from django.utils.translation import gettext as _
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from crm_site import services
from crm_site.roles import Role

pytestmark = pytest.mark.django_db


class StaffView(APIView):
    """Adds a member of staff, the way an app's endpoint calls its service: directly."""

    def post(self, request):
        stores = list(request.user.stores.all()) if request.data.get("stores") else []
        services.staff_create(actor=request.user, username="new", password="Secret-pass-42",
                              stores=stores, roles=[])
        return Response(status=201)


class TransferView(APIView):
    """A service that refuses as a whole, naming no field."""

    def post(self, request):
        raise ValidationError(_("该员工不在您的门店。"))


urlpatterns = [path("staff/", StaffView.as_view()), path("transfer/", TransferView.as_view())]


@pytest.fixture
def api(settings, make_user, store):
    settings.ROOT_URLCONF = __name__
    client = APIClient()
    client.force_authenticate(make_user(Role.CR_MANAGER, store))
    return client


def test_a_field_error_names_the_field_in_chinese_by_default(api):
    response = api.post("/staff/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"stores": ["请至少选择一个门店。"]}


def test_a_field_error_in_english_with_the_language_cookie(api):
    api.cookies["crm_language"] = "en"
    response = api.post("/staff/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"stores": ["Choose at least one store."]}
    assert response["Content-Language"] == "en"


def test_an_error_of_no_one_field_answers_under_non_field_errors(api):
    response = api.post("/transfer/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["该员工不在您的门店。"]}
    api.cookies["crm_language"] = "en"
    response = api.post("/transfer/", {}, format="json")
    assert response.json() == {"non_field_errors": ["This member of staff is not in your stores."]}


def test_a_refusal_keeps_its_reason(settings, make_user, store):
    settings.ROOT_URLCONF = __name__
    client = APIClient()
    client.force_authenticate(make_user(Role.CALLER, store))
    client.cookies["crm_language"] = "en"
    response = client.post("/staff/", {"stores": True}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not manage staff."}

