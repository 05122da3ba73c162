"""A page that is missing, not allowed, failing or expired answers in the site's own
frame and language, with a way back home."""

import pytest
from django.conf import settings
from django.test import Client

from crm_site.roles import Role

LANGUAGES = [("zh-hans", "客户关爱系统", "返回首页"), ("en", "Customer Care", "Back to the home page")]


def in_frame(response, brand, back):
    page = response.content.decode()
    assert f'class="navbar-brand" href="/">{brand}</a>' in page
    assert f'href="/">{back}</a>' in page
    return page


@pytest.fixture
def caller_client(client, caller):
    client.force_login(caller)
    return client


@pytest.mark.parametrize(("language", "brand", "back"), LANGUAGES)
def test_missing_page_says_so_in_the_site_frame(caller_client, language, brand, back):
    caller_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = caller_client.get("/no-such-page/")
    assert response.status_code == 404
    page = in_frame(response, brand, back)
    assert ("页面不存在" if language == "zh-hans" else "Page not found") in page
    assert 'id="mainnav"' in page  # the menus stay, so the user can go on


@pytest.mark.parametrize(("language", "brand", "back"), LANGUAGES)
def test_page_the_role_may_not_open_says_so_in_the_site_frame(caller_client, language, brand,
                                                               back):
    caller_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = caller_client.get("/staff/")
    assert response.status_code == 403
    page = in_frame(response, brand, back)
    assert ("没有权限" if language == "zh-hans" else "Not allowed") in page
    assert "403 Forbidden" not in page


@pytest.mark.urls("tests.crm_site.error_urls")
@pytest.mark.parametrize(("language", "brand", "back"), LANGUAGES)
def test_failing_page_says_so_in_the_site_frame(db, language, brand, back):
    client = Client(raise_request_exception=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/fails/")
    assert response.status_code == 500
    page = in_frame(response, brand, back)
    assert ("系统出错" if language == "zh-hans" else "Something went wrong") in page


@pytest.mark.parametrize(("language", "brand", "back"), LANGUAGES)
def test_expired_form_says_so_in_the_site_frame(db, make_user, store, language, brand, back):
    make_user(Role.CALLER, store, username="li")
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.post("/accounts/login/", {"username": "li", "password": "Secret-pass-42"})
    assert response.status_code == 403
    page = in_frame(response, brand, back)
    assert ("页面已过期" if language == "zh-hans" else "The page has expired") in page
