"""Changes addressed to scope keys (core.audiences) instead of three fixed audience columns.

Each existing change keeps its audience: ``grid_id`` -> ``grid:<id>``, ``department_id`` ->
``department:<id>``, ``user_id`` -> ``user:<id>``, plus ``district`` where the district-wide roles saw it (any
grid or department, or no audience at all), which is what ``change_visible_to`` answered before.
"""

from django.db import migrations, models
import django.db.models.deletion


def _scopes(grid_id, department_id, user_id) -> list[str]:
    keys = []
    if department_id is not None:
        keys.append(f"department:{department_id}")
    if grid_id is not None:
        keys.append(f"grid:{grid_id}")
    if user_id is not None:
        keys.append(f"user:{user_id}")
    if grid_id is not None or department_id is not None or user_id is None:
        keys.append("district")
    return keys


def forwards(apps, schema_editor):
    Change = apps.get_model("core", "Change")
    ChangeScope = apps.get_model("core", "ChangeScope")
    db = schema_editor.connection.alias
    last = 0
    while True:
        batch = list(Change.objects.using(db).filter(id__gt=last).order_by("id")
                     .values_list("id", "grid_id", "department_id", "user_id")[:5000])
        if not batch:
            return
        rows, scoped = [], []
        for change_id, grid_id, department_id, user_id in batch:
            keys = _scopes(grid_id, department_id, user_id)
            scoped.append(Change(id=change_id, scopes=keys))
            rows.extend(ChangeScope(change_id=change_id, key=key) for key in keys)
        Change.objects.using(db).bulk_update(scoped, ["scopes"])
        ChangeScope.objects.using(db).bulk_create(rows)
        last = batch[-1][0]


def backwards(apps, schema_editor):
    Change = apps.get_model("core", "Change")
    db = schema_editor.connection.alias
    for change in Change.objects.using(db).exclude(scopes=[]).iterator():
        for key in change.scopes:
            name, _sep, pk = key.partition(":")
            if name in ("grid", "department", "user"):
                setattr(change, f"{name}_id", int(pk))
        Change.objects.using(db).filter(pk=change.pk).update(
            grid_id=change.grid_id, department_id=change.department_id, user_id=change.user_id)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0003_change_facts"),
    ]

    operations = [
        migrations.AddField(
            model_name="change",
            name="scopes",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.CreateModel(
            name="ChangeScope",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("key", models.CharField(max_length=80)),
                ("change", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING,
                                             related_name="+", to="core.change")),
            ],
            options={
                "verbose_name": "change scope",
                "verbose_name_plural": "change scopes",
                "constraints": [models.UniqueConstraint(fields=("key", "change"), name="core_changescope_key_change")],
            },
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="change", name="department_id"),
        migrations.RemoveField(model_name="change", name="grid_id"),
        migrations.RemoveField(model_name="change", name="user_id"),
    ]
