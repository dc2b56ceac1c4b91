from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "GraphQL API"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from api.restrict import visible
        from core.files import FileKind, Images, file_kind_register, file_visibility_default_register

        # A file kind registered without a rule of its own is seen by whoever the API shows its object to.
        file_visibility_default_register(visible)
        # Event photos, with the path, salt and time to live of the links handed out before file kinds existed.
        file_kind_register(FileKind(
            name="event_photo", model="gridapp.EventPhoto", variants={"i": "image", "t": "thumbnail"},
            accepts=(Images(),), folder="events", link_path="photos", salt="onegrid.photo",
            ttl_setting="PHOTO_URL_TTL_SECONDS", not_found_message=_("No such photo."),
            expired_message=_("This photo link has expired.")))
