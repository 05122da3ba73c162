from django.urls import path

from . import views

app_name = "complaints"
urlpatterns = [
    path("", views.board, name="board"),
    path("mine/", views.board, {"mine": True}, name="mine"),
    path("new/", views.create, name="create"),
    path("report/", views.report, name="report"),
    path("settings/sla/", views.sla_settings, name="sla-settings"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/attachments/", views.attach, name="attach"),
    path("<int:pk>/<slug:action>/", views.act, name="act"),
]
