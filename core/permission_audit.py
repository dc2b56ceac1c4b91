"""Every permission change is audited, whoever makes it: a service, the admin, a shell.

Signals on guardian's object-permission tables (the generic ones and the
direct-foreign-key ones), on users' permissions and groups, and on the fields
of a user that decide what they may do (role, department, staff, superuser,
active).  The actor comes from ``core.actor``.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from core.actor import current_actor
from core.audit import audit_record

USER_AUTHORITY_FIELDS = ("role", "department_id", "is_staff", "is_superuser", "is_active")


def _record(action: str, target: str, details: dict | None = None) -> None:
    actor = current_actor()
    audit_record(
        action=action,
        actor=actor.user if actor else None,
        actor_label="" if actor and actor.user else "system",
        target=target,
        client_ip=actor.client_ip if actor else None,
        user_agent=actor.user_agent if actor else "",
        details=details,
    )


def _object_permission_target(row) -> str:
    holder = f"user:{row.user.get_username()}" if hasattr(row, "user_id") else f"group:{row.group.name}"
    obj = getattr(row, "content_object", None)
    label = f"{type(obj)._meta.model_name}:{getattr(obj, 'code', obj.pk)}" if obj is not None else f"object:{row.object_pk}"
    return f"{row.permission.content_type.app_label}.{row.permission.codename} {label} {holder}"


def _object_permission_saved(sender, instance, created, **kwargs):
    if created:
        _record("permission.grant", _object_permission_target(instance))


def _object_permission_deleted(sender, instance, **kwargs):
    _record("permission.revoke", _object_permission_target(instance))


def _user_before_save(sender, instance, **kwargs):
    if instance.pk is None:
        instance._authority_before = None
        return
    before = sender.objects.filter(pk=instance.pk).values(*USER_AUTHORITY_FIELDS).first()
    instance._authority_before = before


def _user_saved(sender, instance, created, **kwargs):
    before = getattr(instance, "_authority_before", None)
    after = {field: getattr(instance, field) for field in USER_AUTHORITY_FIELDS}
    if created:
        changed = {field: [None, value] for field, value in after.items()}
    elif before is None:
        return
    else:
        changed = {field: [before[field], after[field]] for field in USER_AUTHORITY_FIELDS if before[field] != after[field]}
    if changed:
        _record("permission.user", f"user:{instance.get_username()}", {"changed": changed})


def _m2m_changed(sender, instance, action, pk_set, model, **kwargs):
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    names = sorted(str(item) for item in model.objects.filter(pk__in=pk_set or [])) if pk_set else []
    _record(f"permission.{action.removeprefix('post_')}", f"{type(instance)._meta.model_name}:{instance}",
            {"related": model._meta.label_lower, "items": names})


def connect() -> None:
    for model in apps.get_models():
        if issubclass(model, (UserObjectPermissionBase, GroupObjectPermissionBase)):
            post_save.connect(_object_permission_saved, sender=model, dispatch_uid=f"audit-save-{model._meta.label}")
            post_delete.connect(_object_permission_deleted, sender=model, dispatch_uid=f"audit-del-{model._meta.label}")
    user_model = get_user_model()
    pre_save.connect(_user_before_save, sender=user_model, dispatch_uid="audit-user-pre")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="audit-user-post")
    from django.contrib.auth.models import Group

    throughs = [user_model.user_permissions.through, user_model.groups.through, Group.permissions.through]
    # Any list of people kept on an object (a community's or a street's supervisors, ...) decides what
    # they see and may do there: audited like a permission.
    throughs += [field.remote_field.through for model in apps.get_models() for field in model._meta.local_many_to_many
                 if field.remote_field.model is user_model]
    for through in throughs:
        m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid=f"audit-m2m-{through._meta.label}")
