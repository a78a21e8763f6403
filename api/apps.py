from django.apps import AppConfig


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        # The token scheme's description in the OpenAPI document (drf-spectacular finds
        # extensions by import).
        from . import authentication  # noqa: F401
