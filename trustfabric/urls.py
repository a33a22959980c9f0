from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.urls import portal_patterns
from trustfabric import observability, views

api_patterns = [
    path("", include("accounts.api_urls")),
    path("witness/", include("witness.api_urls")),
    path("oncall/", include("oncall.api_urls")),
    path("lac/", include("studio.api_urls")),
    path("pcq/", include("pcq.api_urls")),
    path("zktx/", include("zktx.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", observability.healthz, name="healthz"),
    path("readyz", observability.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
    path("vendor/plotly.min.js", views.plotly_js, name="plotly-js"),
    path("vendor/plotly-<str:digest>.min.js", views.plotly_js, name="plotly-js-pinned"),
    path("accounts/", include("accounts.urls")),
    path("portal/", include(portal_patterns)),
    path("studio/", include("studio.urls")),
    path("pcq/", include("pcq.urls")),
    path("oncall/", include("oncall.urls")),
    path("zktx/", include("zktx.urls")),
    path("compliance/", include("compliance.urls")),
    path("witness/", include("witness.urls")),
    path("api/", include(api_patterns)),
]

handler404 = "trustfabric.handlers.not_found"
handler500 = "trustfabric.handlers.server_error"
handler403 = "trustfabric.handlers.forbidden"
