"""The site's URLs and one page that fails, to see the 500 page."""

from django.urls import path

from crm_site.urls import urlpatterns as site_urlpatterns


def fails(request):
    raise RuntimeError("a page that fails")


urlpatterns = [*site_urlpatterns, path("fails/", fails)]
