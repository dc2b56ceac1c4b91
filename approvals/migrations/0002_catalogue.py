"""The catalogue of the 33 licence kinds (approvals.catalogue), loaded into every database; edited in the admin."""

from django.db import migrations


def load(apps, schema_editor):
    from approvals.catalogue import catalogue_load

    catalogue_load(apps.get_model("approvals", "LicenceKind"), apps.get_model("accounts", "Department"))


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
