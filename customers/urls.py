from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_edit, name="create"),
    path("validate/<slug:field>/", views.validate_field, name="validate"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/history/", views.customer_history, name="history"),
    path("<int:pk>/reveal/<slug:field>/", views.customer_reveal, name="reveal"),
    path("<int:pk>/consent/", views.customer_consent, name="consent"),
    path("<int:pk>/data-export/", views.customer_data_export, name="data-export"),
    path("<int:pk>/erase/", views.customer_erase, name="erase"),
    path("<int:pk>/family/", views.family_add, name="family-add"),
    path("<int:pk>/family/<int:member_pk>/remove/", views.family_remove, name="family-remove"),
    path("<int:pk>/vehicles/new/", views.vehicle_create, name="vehicle-create"),
    path("<int:pk>/corrections/new/", views.correction_create, name="correction-create"),
    path("vehicles/<int:pk>/", views.vehicle_detail, name="vehicle-detail"),
    path("vehicles/<int:pk>/edit/", views.vehicle_edit, name="vehicle-edit"),
    path("vehicles/<int:pk>/record/<slug:kind>/", views.vehicle_detail, name="vehicle-record"),
    path("vehicles/<int:pk>/transfer/", views.vehicle_transfer, name="vehicle-transfer"),
    path("corrections/", views.correction_list, name="correction-list"),
    path("corrections/<int:pk>/", views.correction_detail, name="correction-detail"),
    path("corrections/<int:pk>/<slug:action>/", views.correction_detail, name="correction-decide"),
    path("duplicates/", views.duplicate_list, name="duplicates"),
    path("merge/", views.customer_merge, name="merge"),
    path("merges/<int:pk>/undo/", views.merge_undo, name="merge-undo"),
    path("reveals/", views.reveal_log, name="reveal-log"),
]
