"""`manage.py meter_readings_import FILE [--chunk N]`: water meters' readings from a CSV file (``-``: standard
input) with the header ``meter,at,litres``, through the one ingest service.

The file is read as a stream, ``--chunk`` rows at a time (each chunk one ``readings_ingest`` call), so that a year
of a district's readings imports in bounded memory; the progress goes to standard error, the summary to standard
output.  A row the service refuses is counted with its code (and its line shown, for the first ``SHOWN_REFUSALS``);
importing a file again is harmless: what is kept already counts as duplicates.
"""

from __future__ import annotations

import csv
import io
import sys
from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gridapp.sensors.ingest import readings_ingest
from gridapp.sensors.models import ReadingSource

COLUMNS = ("meter", "at", "litres")
#: Refused rows shown one by one on standard error; the rest are only counted.
SHOWN_REFUSALS = 20


class Command(BaseCommand):
    help = "Import water meters' readings from a CSV file with the header meter,at,litres (- for standard input)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file, UTF-8 (- for standard input)")
        parser.add_argument("--chunk", type=int, default=None,
                            help="rows per ingest call (default: SENSOR_INGEST_CHUNK)")

    def handle(self, *args, file: str, chunk: int | None, **options):
        chunk = chunk or settings.SENSOR_INGEST_CHUNK
        if chunk < 1:
            raise CommandError("--chunk is at least 1.")
        if file == "-":
            binary = getattr(sys.stdin, "buffer", None)  # None: a test's text stream in its place
            stream = sys.stdin if binary is None else io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        else:
            try:
                stream = open(file, encoding="utf-8-sig", newline="")  # closed below
            except OSError as error:
                raise CommandError(f"cannot read {file}: {error.strerror or error}") from None
        try:
            self.stdout.write(self.rows_import(csv.reader(stream), chunk=chunk, name=file))
        except (csv.Error, UnicodeDecodeError) as error:
            # The chunks before it are kept; importing the file again after the fix counts them as duplicates.
            raise CommandError(f"{file} is not a UTF-8 CSV file: {error}") from None
        finally:
            if file != "-":
                stream.close()

    def rows_import(self, rows, *, chunk: int, name: str) -> str:
        """Ingest the CSV ``rows`` (the header first) ``chunk`` at a time; returns the summary line."""
        header = next(rows, None)
        if header is None:
            raise CommandError(f"{name} is empty: the first line is the header {','.join(COLUMNS)}.")
        names = [column.strip().lower() for column in header]
        missing = [column for column in COLUMNS if column not in names]
        if missing:
            raise CommandError(f"{name}'s header lacks {', '.join(missing)}: it is {','.join(COLUMNS)}.")
        places = [names.index(column) for column in COLUMNS]
        width = len(names)
        accepted = duplicates = read = 0
        refused: Counter[str] = Counter()
        batch: list[tuple] = []
        lines: list[int] = []  # the file's line of each reading in ``batch``, to show a refusal's

        def flush() -> None:
            nonlocal accepted, duplicates
            result = readings_ingest(readings=batch, source=ReadingSource.CSV)
            accepted += result.accepted
            duplicates += result.duplicates
            for index, code in result.refused:
                if sum(refused.values()) < SHOWN_REFUSALS:
                    self.stderr.write(f"line {lines[index]}: refused, {code}")
                refused[code] += 1
            self.stderr.write(f"{read} rows read: accepted {accepted}, duplicates {duplicates}, "
                              f"refused {sum(refused.values())}")
            batch.clear()
            lines.clear()

        for row in rows:
            if not any(cell.strip() for cell in row):
                continue  # a blank line (a trailing one, most often) is no reading
            read += 1
            batch.append(row_reading(row, places=places, width=width))
            lines.append(rows.line_num)
            if len(batch) >= chunk:
                flush()
        if batch:
            flush()
        return summary_line(accepted=accepted, duplicates=duplicates, refused=refused)


def row_reading(row: list[str], *, places: list[int], width: int) -> tuple:
    """The ``(serial, at, litres)`` reading of a CSV row; a row without the header's columns is ``()``, which the
    service refuses as ``malformed``, and a counter that is no number stays text (``invalid_volume``)."""
    if len(row) != width:
        return ()
    serial, at, litres = (row[place].strip() for place in places)
    try:
        return serial, at, float(litres)
    except ValueError:
        return serial, at, litres


def summary_line(*, accepted: int, duplicates: int, refused: Counter) -> str:
    """``accepted 95, duplicates 3, refused 2 (counter_backwards 1, unknown_meter 1)``."""
    detail = f" ({', '.join(f'{code} {count}' for code, count in sorted(refused.items()))})" if refused else ""
    return f"accepted {accepted}, duplicates {duplicates}, refused {sum(refused.values())}{detail}"
