from django.urls import path

from . import views

app_name = "followups"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("tasks/<int:pk>/", views.task_detail, name="task"),
    path("tasks/<int:pk>/outcome/", views.task_outcome, name="task-outcome"),
    path("plan/", views.plan, name="plan"),
    path("plan/reassign/", views.reassign, name="reassign"),
    path("funnel/", views.funnel, name="funnel"),
    path("programmes/", views.programme_list, name="programmes"),
    path("programmes/new/", views.programme_create, name="programme-create"),
    path("programmes/<int:pk>/", views.programme_edit, name="programme"),
    path("programmes/<int:pk>/steps/new/", views.step_create, name="step-create"),
    path("steps/<int:pk>/", views.step_edit, name="step"),
    path("steps/<int:pk>/remove/", views.step_remove, name="step-remove"),
    path("settings/", views.settings_edit, name="settings"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/new/", views.campaign_create, name="campaign-create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("classes/new/", views.care_class_create, name="class-create"),
    path("classes/<int:pk>/", views.care_class_detail, name="class"),
    path("invitations/<int:pk>/", views.invitation_update, name="invitation"),
    path("appointments/", views.appointment_list, name="appointments"),
    path("lounge/", views.lounge, name="lounge"),
    path("lounge/find/", views.lounge_find, name="lounge-find"),
    path("lounge/arrive/", views.lounge_arrive, name="lounge-arrive"),
    path("lounge/visits/<int:pk>/depart/", views.lounge_depart, name="lounge-depart"),
    path("lounge/visits/<int:pk>/preference/", views.lounge_preference, name="lounge-preference"),
    path("club/", views.club, name="club"),
    path("club/join/", views.club_join, name="club-join"),
    path("club/members/<int:pk>/leave/", views.club_member_leave, name="club-leave"),
    path("club/activities/new/", views.club_activity_create, name="club-activity-create"),
]
