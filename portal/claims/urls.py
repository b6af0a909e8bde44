from django.urls import path

from portal.claims import views

app_name = "claims"

aliases, cpt = views.PAYER_ALIASES, views.CPT_GROUPS

urlpatterns = [
    path("c/<slug:slug>/uploads/", views.UploadListView.as_view(), name="upload-list"),
    path("c/<slug:slug>/uploads/<int:pk>/", views.UploadDetailView.as_view(), name="upload-detail"),
    path(
        "c/<slug:slug>/uploads/<int:pk>/progress/",
        views.UploadProgressView.as_view(),
        name="upload-progress",
    ),
    path(
        "c/<slug:slug>/uploads/<int:pk>/rejected.csv",
        views.RejectedRowsCsvView.as_view(),
        name="upload-rejected-csv",
    ),
    path("c/<slug:slug>/claims/", views.ClaimListView.as_view(), name="claim-list"),
    path("c/<slug:slug>/claims/export.csv", views.ClaimExportView.as_view(), name="claim-export"),
    path("c/<slug:slug>/payers/", views.PayerListView.as_view(), name="payer-list"),
    path("c/<slug:slug>/payers/<int:pk>/", views.PayerDetailView.as_view(), name="payer-detail"),
    path(
        "c/<slug:slug>/payer-aliases/", views.PayerAliasListView.as_view(), name="payer-alias-list"
    ),
    path(
        "c/<slug:slug>/payer-aliases/import/",
        views.MappingImportView.as_view(mapping=aliases),
        name="payer-alias-import",
    ),
    path(
        "c/<slug:slug>/payer-aliases/<int:pk>/edit/",
        views.MappingEditView.as_view(mapping=aliases),
        name="payer-alias-edit",
    ),
    path(
        "c/<slug:slug>/payer-aliases/<int:pk>/delete/",
        views.MappingDeleteView.as_view(mapping=aliases),
        name="payer-alias-delete",
    ),
    path("c/<slug:slug>/cpt-groups/", views.CptGroupListView.as_view(), name="cpt-group-list"),
    path(
        "c/<slug:slug>/cpt-groups/import/",
        views.MappingImportView.as_view(mapping=cpt),
        name="cpt-group-import",
    ),
    path(
        "c/<slug:slug>/cpt-groups/<int:pk>/edit/",
        views.MappingEditView.as_view(mapping=cpt),
        name="cpt-group-edit",
    ),
    path(
        "c/<slug:slug>/cpt-groups/<int:pk>/delete/",
        views.MappingDeleteView.as_view(mapping=cpt),
        name="cpt-group-delete",
    ),
]
