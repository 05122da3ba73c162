"""Whatever app an endpoint belongs to, every error answers the API client the same way,
{"code", "message", "fields"}: a stable code to branch on, a message in the request's
language (the language cookie, else the client's Accept-Language, else Chinese), and the
refused fields each with their code and message (non_field_errors when it names none)."""

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


urlpatterns = [path("api/staff/", StaffView.as_view()), path("api/transfer/", TransferView.as_view())]


@pytest.fixture
def api(settings, make_user, store):
    settings.ROOT_URLCONF = __name__
    client = APIClient()
    client.force_authenticate(make_user(Role.CR_MANAGER, store))
    return client


def test_a_field_error_names_the_field_in_chinese_by_default(api):
    response = api.post("/api/staff/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid", "message": "输入有误，请按所列字段修改。",
        "fields": {"stores": [{"code": "invalid", "message": "请至少选择一个门店。"}]}}


def test_a_field_error_in_english_with_the_language_cookie(api):
    api.cookies["crm_language"] = "en"
    response = api.post("/api/staff/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid", "message": "The input was refused: correct the fields listed.",
        "fields": {"stores": [{"code": "invalid", "message": "Choose at least one store."}]}}
    assert response["Content-Language"] == "en"


def test_an_integration_asks_for_english_with_accept_language(api):
    response = api.post("/api/staff/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.json()["fields"]["stores"][0]["message"] == "Choose at least one store."
    response = api.post("/api/staff/", {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert response.json()["fields"]["stores"][0]["message"] == "请至少选择一个门店。"


def test_an_error_of_no_one_field_answers_under_non_field_errors(api):
    response = api.post("/api/transfer/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid", "message": "该员工不在您的门店。",
        "fields": {"non_field_errors": [{"code": "invalid", "message": "该员工不在您的门店。"}]}}
    api.cookies["crm_language"] = "en"
    response = api.post("/api/transfer/", {}, format="json")
    assert response.json()["message"] == "This member of staff is not in your stores."


def test_a_refusal_keeps_its_reason(settings, make_user, store):
    settings.ROOT_URLCONF = __name__
    client = APIClient()
    client.force_authenticate(make_user(Role.CALLER, store))
    client.cookies["crm_language"] = "en"
    response = client.post("/api/staff/", {"stores": True}, format="json")
    assert response.status_code == 403
    assert response.json() == {"code": "permission_denied",
                               "message": "You may not manage staff.", "fields": {}}


def test_a_serializer_error_keeps_each_field_code(cr_manager):
    api = APIClient()
    api.force_authenticate(cr_manager)
    response = api.post("/api/v1/complaints/", {"severity": "nonsense"}, format="json",
                        HTTP_ACCEPT_LANGUAGE="en")
    body = response.json()
    assert response.status_code == 400 and body["code"] == "invalid"
    assert body["fields"]["severity"] == [
        {"code": "invalid_choice", "message": '"nonsense" is not a valid choice.'}]
    assert body["fields"]["customer"][0]["code"] == "required"


def test_not_found_answers_in_the_requests_language(cr_manager):
    """Today's 404 of a missing row and of a path no route matches alike."""
    api = APIClient()
    api.force_authenticate(cr_manager)
    for url in ("/api/v1/customers/999999/", "/api/v1/customers/1.5/"):
        assert api.get(url).json() == {"code": "not_found", "message": "未找到。", "fields": {}}
        response = api.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "Not found.", "fields": {}}


def test_before_sign_in_the_error_says_so():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated", "message": "身份认证信息未提供。",
                               "fields": {}}


def test_other_refusals_carry_their_code(cr_manager):
    api = APIClient()
    api.force_authenticate(cr_manager)
    response = api.delete("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")
    assert response.json()["message"] == 'Method "DELETE" not allowed.'
    response = api.post("/api/v1/complaints/", "{not json", content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "parse_error")
    response = api.get("/api/v1/customers/", {"q": "a\x00b"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert response.json()["fields"]["q"][0]["message"] == "不能包含控制字符。"
    response = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION="Token nonsense")
    assert (response.status_code, response.json()["code"]) == (401, "authentication_failed")

