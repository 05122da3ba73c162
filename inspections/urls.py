from django.urls import path

from . import views

app_name = "inspections"
urlpatterns = [
    path("", views.today, name="today"),
    path("settings/check-times/", views.check_times, name="check-times"),
    path("settings/fix-minutes/", views.fix_minutes, name="fix-minutes"),
    path("rounds/<int:pk>/", views.inspection_detail, name="inspection"),
    path("rounds/<int:pk>/start/", views.inspection_start, name="inspection-start"),
    path("rounds/<int:pk>/complete/", views.inspection_complete, name="inspection-complete"),
    path("results/<int:pk>/answer/", views.result_answer, name="result-answer"),
    path("results/<int:pk>/photo/", views.result_photo, name="result-photo"),
    path("mine/", views.my_rectifications, name="my-rectifications"),
    path("rectifications/", views.rectification_list, name="rectifications"),
    path("rectifications/<int:pk>/", views.rectification_detail, name="rectification"),
    path("rectifications/<int:pk>/fix/", views.rectification_fix, name="rectification-fix"),
    path("rectifications/<int:pk>/verify/", views.rectification_verify, name="rectification-verify"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("checklists/", views.checklist_list, name="checklists"),
    path("checklists/<int:pk>/", views.checklist_edit, name="checklist-edit"),
    path("checklists/<int:template_pk>/items/new/", views.checklist_item_edit, name="checklist-item-add"),
    path("checklists/items/<int:pk>/", views.checklist_item_edit, name="checklist-item-edit"),
]
