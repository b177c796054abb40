"""/api/v1/: the ninja API, plus JSON answers where Django would answer with HTML (an unknown
path) and where ninja would answer with an empty body (a method not allowed)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path, reverse
from django.views.decorators.csrf import csrf_exempt

from .api import api
from .errors import ApiError, error_response

app_name = "api"


def _json_405(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
                "application/json"):
            allowed = response.get("Allow", "")
            json_response = error_response(ApiError(
                405, f"{request.method} is not allowed on this path; allowed: {allowed}.",
                code="method_not_allowed"))
            json_response["Allow"] = allowed
            return json_response
        return response

    return wrapped


@csrf_exempt
def api_root(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """/api/v1/ itself: where the documentation is."""
    return JsonResponse({"object": "api", "title": api.title, "version": api.version,
                         "openapi": reverse("api:v1:openapi-json"),
                         "docs": reverse("api:v1:openapi-view")})


def _ninja_patterns() -> list[URLPattern | URLResolver]:
    patterns, _app, _namespace = api.urls
    wrapped: list[URLPattern | URLResolver] = []
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            callback = api_root if pattern.name == "api-root" else _json_405(pattern.callback)
            pattern = URLPattern(pattern.pattern, callback, pattern.default_args, pattern.name)
        wrapped.append(pattern)
    return wrapped


@csrf_exempt
def route_missing(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error_response(ApiError(
        404, f"Unrecognized request URL ({request.method} {request.path}); see "
        "/api/v1/docs.", code="route_missing"))


urlpatterns = [
    path("", include((_ninja_patterns(), "v1"), namespace="v1")),
    re_path(r"^(?P<rest>.*)$", route_missing),
]
