"""Import base records or boundaries from files: ``manage.py import_base_data FILE [FILE ...]``.

Options: ``--boundaries`` (the files are boundaries, see below; without it they
are base records), ``--rejects PATH`` (default ``<first file>.rejects.csv``),
``--description TEXT`` (the new boundary generation's description),
``--no-progress``.  Every rejected row or feature is written to the rejects
file as CSV ``file,line,reason`` (the file is rewritten on every run, with just
the header when nothing was rejected).  The exit status is 0 whenever the
import ran, rejects or not, and non-zero on a fatal error (a file that cannot
be read or is not in the expected format; nothing is written then).  Import
boundaries before the records that are located in them.

Base records: CSV
    UTF-8 (a byte-order mark is allowed), comma-separated, a header row, then
    one record per row.  Columns, in any order (names are case-insensitive)::

        external_id,kind,name,address,lng,lat,crs

    ``external_id`` (at most 64 characters, unique), ``kind`` (one of
    ``gridapp.models.RecordKind``: building, small_shop, small_restaurant,
    small_hotel, small_entertainment, small_internet_cafe, small_beauty_bath,
    small_clinic, small_school, small_workshop, camera), ``name`` (1-200
    characters), ``lng`` and ``lat`` (decimal degrees) are required;
    ``address`` (at most 300) and ``crs`` (WGS84 when absent or empty; also
    GCJ02, BD09 or an alias such as gps, amap, gaode, baidu) are optional.
    Any other column is kept in the record's ``attributes`` (as strings).
    Values are stripped of surrounding spaces.  A row is rejected, with its
    1-based line number (the header is line 1), when it has bytes that are not
    UTF-8, more fields than the header, a missing or non-numeric coordinate,
    a missing or invalid value, a point outside the district, or an external
    id already accepted earlier in the same run (the first one is kept).

Base records: GeoJSON (``.geojson`` or ``.json``)
    A FeatureCollection of Point features (``[lng, lat]``) whose properties
    hold ``external_id``, ``kind``, ``name``, ``address`` and ``crs`` as above;
    other properties go to ``attributes``.  A reject's line is the 1-based
    feature number ("feature 12: ...").  The file is read into memory at once:
    prefer CSV for a district's worth of records.

Boundaries (``--boundaries``): GeoJSON
    A FeatureCollection of Polygon features (WGS-84), one per area, with
    properties ``level`` (street, community, grid or industry), ``code``
    (at most 40 characters), ``name`` (at most 100), ``parent`` (the code of
    the street of a community, or of the community of a grid) and
    ``department`` (the department code of an industry grid).  An area whose
    geometry, name and parent are unchanged keeps its row; a changed one gets
    a new version in one new boundary generation (created only when anything
    changes, so importing the same file twice changes nothing); records keep
    pointing at the version they were located in.  Areas missing from the
    file are left alone.  Broken geometry, a missing field, an unknown level,
    parent or department reject the feature.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from gridapp.geography.importer import ImportFileError, Reject, boundaries_load, read_records, records_load
from gridapp.geography.locator import OutsideDistrict


class Command(BaseCommand):
    help = ("Import base records (CSV, or GeoJSON points) or, with --boundaries, streets/communities/grids/"
            "industry grids (GeoJSON polygons).  Rejected rows go to a CSV file,line,reason; the formats are "
            "described in gridapp/management/commands/import_base_data.py.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="CSV or GeoJSON files (formats: see the module docstring)")
        parser.add_argument("--rejects", metavar="PATH",
                            help="where to write rejected rows as CSV file,line,reason (default: <first file>.rejects.csv)")
        parser.add_argument("--boundaries", action="store_true",
                            help="the files are GeoJSON boundaries (level, code, name, parent, department), "
                                 "not base records")
        parser.add_argument("--description", help="description of the new boundary generation "
                                                  "(default: the file's name)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, files: list[str], rejects: str | None, boundaries: bool, description: str | None,
               no_progress: bool, **options):
        for path in files:
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise CommandError(_("cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror or exc}) from None
        try:
            if boundaries:
                created, updated, unchanged, rejected, seconds = self._boundaries(files, description)
            else:
                created, updated, unchanged, rejected, seconds = self._records(files, no_progress)
        except (ImportFileError, OSError) as exc:
            raise CommandError(str(exc)) from None
        except OutsideDistrict as exc:
            raise CommandError(_("%(error)s: import the boundaries first (--boundaries)") % {"error": exc}) from None

        rejects_path = Path(rejects or f"{files[0]}.rejects.csv")
        with open(rejects_path, "w", encoding="utf-8", errors="backslashreplace", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "line", "reason"])
            writer.writerows([reject.file, reject.line, reject.reason] for reject in rejected)
        self.stdout.write(self.style.SUCCESS(
            _("created %(created)d, updated %(updated)d, unchanged %(unchanged)d, rejected %(rejected)d; "
              "loading took %(seconds)s s") % {"created": created, "updated": updated, "unchanged": unchanged,
                                              "rejected": len(rejected), "seconds": f"{seconds:.2f}"}))
        self.stdout.write(_("rejects: %(path)s") % {"path": rejects_path})

    def _records(self, files: list[str], no_progress: bool):
        readers = [read_records(path) for path in files]
        rejected_reading: list[list[Reject]] = [found for _batches, found in readers]
        total = sum(_data_lines(path) for path in files if Path(path).suffix.lower() not in (".geojson", ".json"))
        with tqdm(total=total or None, desc="records", unit="row", disable=no_progress) as bar:
            report = records_load(itertools.chain.from_iterable(batches for batches, _found in readers),
                                  progress=bar.update)
            bar.total = bar.n  # the line count was an estimate (unparseable rows, quoted line breaks)
            bar.refresh()
        order = {path: index for index, path in enumerate(files)}
        rejected = sorted(itertools.chain(report.rejected, *rejected_reading),
                          key=lambda reject: (order.get(reject.file, len(order)), reject.line))
        return report.created, report.updated, report.unchanged, rejected, report.seconds_loading

    def _boundaries(self, files: list[str], description: str | None):
        created = updated = unchanged = 0
        seconds = 0.0
        rejected: list[Reject] = []
        for path in files:
            report = boundaries_load(path, description=description or f"import of {Path(path).name}")
            created, updated, unchanged = (created + report.created, updated + report.updated,
                                           unchanged + report.unchanged)
            rejected.extend(report.rejected)
            seconds += report.seconds_loading
            self.stdout.write(_("%(path)s: created %(created)d, updated %(updated)d, unchanged %(unchanged)d, "
                                "rejected %(rejected)d") % {"path": path, "created": report.created,
                                                            "updated": report.updated, "unchanged": report.unchanged,
                                                            "rejected": len(report.rejected)})
        return created, updated, unchanged, rejected, seconds


def _data_lines(path: str) -> int:
    """Lines after the header: the progress bar's total (a quoted field spanning lines counts more than once)."""
    count = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return max(0, count + (last != b"\n") - 1)
