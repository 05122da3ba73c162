from django.urls import path

from . import views

# Included in satisfaction/urls.py under team/ (names in the satisfaction namespace).
urlpatterns = [
    path("", views.team, name="team"),
    path("staff/<int:pk>/", views.team_member, name="team-member"),
    path("training/", views.training, name="team-training"),
    path("training/new/", views.training_create, name="team-training-create"),
    path("training/<int:pk>/", views.training_detail, name="team-training-detail"),
    path("training/plans/<int:pk>/", views.training_plan_update, name="team-plan-update"),
    path("talks/", views.talks, name="team-talks"),
    path("vote/", views.vote, name="team-vote"),
    path("incentives/", views.incentives, name="team-incentives"),
    path("greetings/", views.greeting_settings, name="greeting-settings"),
]
