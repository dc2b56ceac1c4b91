"""Rebuild the event statistics rollup from the events (after changing TIME_ZONE or OPEN_STATUSES, or to repair)."""

from django.core.management.base import BaseCommand

from gridapp.incidents.rollup import event_rollup_rebuild


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        rows = event_rollup_rebuild()
        self.stdout.write(f"Event statistics rollup: {rows:,} rows (month x street x department x category).")
