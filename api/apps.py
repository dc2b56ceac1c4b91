from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "GraphQL API"

    def ready(self) -> None:
        from api.restrict import visible
        from core.files import file_visibility_default_register

        # A file kind registered without a rule of its own is seen by whoever the API shows its object to.
        file_visibility_default_register(visible)
