"""What one can apply for (approvals.application_catalogue): application kinds with their materials, the
workflows they run on, the provincial and national offices; loaded into every database, edited in the admin."""

from django.db import migrations


def load(apps, schema_editor):
    from approvals.application_catalogue import application_catalogue_load

    application_catalogue_load(
        licence_kinds=apps.get_model("approvals", "LicenceKind"), departments=apps.get_model("accounts", "Department"),
        application_kinds=apps.get_model("approvals", "ApplicationKind"),
        requirements=apps.get_model("approvals", "MaterialRequirement"),
        definitions=apps.get_model("core", "WorkflowDefinition"), steps=apps.get_model("core", "WorkflowStep"))


class Migration(migrations.Migration):
    dependencies = [("approvals", "0003_applications"), ("accounts", "0003_department_level")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
