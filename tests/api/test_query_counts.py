"""The SQL queries of every root query, as committed numbers, and that they stay the same however many rows.

``tests/api/query_counts.json`` holds one entry per query document: its viewer (a role of the ``users`` fixture),
the document, its variables (``{"node": "Event"}`` stands for the global id of that node type's case object in
``tests/api/cases.py``) and ``queries``, the number of SQL statements one request through the real schema over
HTTP costs in the world built below: a number, or one per database vendor where they differ.  Every root query
that does not answer a scalar, and ``node(id:)`` of every node type, has an entry (derived from the schema).

A count that differs fails, a lower one too: record an improvement (or an intended cost) with

    ONEGRID_UPDATE_QUERY_COUNTS=1 pytest tests/api/test_query_counts.py   # this database
    make query-counts                                                     # SQLite, then PostgreSQL

and commit the file.  Apart from that, each list query must cost the same with more rows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql import GraphQLEnumType, GraphQLScalarType, OperationDefinitionNode, get_named_type, parse
from strawberry.relay import to_base64

from api.schema import schema
from tests.api.cases import NODE_CASES, ROLES, World, is_list_or_connection, node_types, rows_add

BASELINES = Path(__file__).with_name("query_counts.json")
UPDATE = os.environ.get("ONEGRID_UPDATE_QUERY_COUNTS") == "1"
VENDORS = ("postgresql", "sqlite")
ROWS, MORE_ROWS = 2, 8
RECORD = ("record them with ONEGRID_UPDATE_QUERY_COUNTS=1 pytest tests/api/test_query_counts.py "
          "(or `make query-counts` for both databases) and commit tests/api/query_counts.json")


def baselines() -> dict[str, dict]:
    return json.loads(BASELINES.read_text(encoding="utf-8"))


def layout(entries: dict[str, dict]) -> str:
    """The file's text: one line per key of an entry, so a changed count is a one-line diff."""
    blocks = []
    for name, entry in entries.items():
        lines = [f"    {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in entry.items()]
        blocks.append(f"  {json.dumps(name, ensure_ascii=False)}: {{\n" + ",\n".join(lines) + "\n  }")
    return "{\n" + ",\n".join(blocks) + "\n}\n"


def expected(entry: dict, vendor: str) -> int | None:
    counts = entry.get("queries")
    return counts.get(vendor) if isinstance(counts, dict) else counts


def recorded(counts: int | dict | None, vendor: str, count: int) -> int | dict:
    """``counts`` with this vendor's new count: one number while every vendor's last count agrees."""
    known = dict(counts) if isinstance(counts, dict) else {} if counts is None else dict.fromkeys(VENDORS, counts)
    known[vendor] = count
    return count if len(set(known.values())) == 1 else dict(sorted(known.items()))


def root_fields(document: str) -> set[str]:
    [operation] = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
    return {selection.name.value for selection in operation.selection_set.selections}


def node_types_read(entry: dict) -> set[str]:
    if root_fields(entry["query"]) != {"node"}:
        return set()
    return {value["node"] for value in (entry.get("variables") or {}).values() if isinstance(value, dict)}


QUERY = schema._schema.query_type


def test_every_root_query_and_every_node_type_has_a_baseline():
    entries = baselines()
    # Every root field but those answering a scalar (a cursor): lists, connections, nodes, and the objects that
    # carry lists (the map layer, statistics, a page of changes, a location's zones).
    required = {name for name, field in QUERY.fields.items()
                if not isinstance(get_named_type(field.type), GraphQLScalarType | GraphQLEnumType)}
    covered = set().union(*(root_fields(entry["query"]) for entry in entries.values()))
    assert not required - covered, f"root queries without a baseline in {BASELINES.name}: " \
                                   f"{sorted(required - covered)}: add an entry, then {RECORD}"
    assert not covered - set(QUERY.fields), f"entries of root queries the schema no longer has: " \
                                            f"{sorted(covered - set(QUERY.fields))}"
    read = set().union(*(node_types_read(entry) for entry in entries.values()))
    assert not set(node_types()) - read, f"node types without a node(id:) baseline in {BASELINES.name}: " \
                                         f"{sorted(set(node_types()) - read)}"
    for name, entry in entries.items():
        assert set(entry) <= {"viewer", "query", "variables", "queries"} and entry["viewer"] in ROLES, name
        for value in (entry.get("variables") or {}).values():
            if isinstance(value, dict):
                case = NODE_CASES[value["node"]]
                assert entry["viewer"] in case.sees, f"{name}: {entry['viewer']} may not see the {value['node']}"


def test_the_baselines_file_is_written_as_it_is_read():
    """The file is in the writer's layout, so recording counts changes only the lines of the counts."""
    assert BASELINES.read_text(encoding="utf-8") == layout(baselines()), f"lay it out again: {RECORD}"


@pytest.fixture
def measure(users, district, event_categories, gql, token_for, settings):
    """The world of the baselines (one object of every node type, ``ROWS`` rows of every list) and a function
    that counts the SQL of each entry's request (after one request of each, so nothing built once per process
    is counted)."""
    # What a process caches for some seconds (the locator's generation check, the detector registry) stays
    # cached while it is measured: a count is a steady request's, whatever the speed of the machine.
    settings.LOCATOR_CHECK_SECONDS = 3600
    settings.VISION_REGISTRY_TTL_SECONDS = 3600
    world = World(users=users, district=district)
    for type_name in sorted(NODE_CASES):
        world.object(type_name)
    rows_add(world, ROWS)
    tokens = {role: token_for(users[role]) for role in ROLES}

    def request(entry: dict):
        variables = {key: to_base64(value["node"], world.object(value["node"]).pk) if isinstance(value, dict)
                     else value for key, value in (entry.get("variables") or {}).items()}
        with CaptureQueriesContext(connection) as captured:
            answer = gql(entry["query"], variables, token=tokens[entry["viewer"]])
        return len(captured), answer

    def run(entries: dict[str, dict]) -> dict[str, tuple[int, dict]]:
        for entry in entries.values():
            request(entry)
        counted = {}
        for name, entry in entries.items():
            count, answer = request(entry)
            assert answer.errors == [] and answer.data, (name, answer.body)
            counted[name] = count, answer.data
        return counted

    run.world = world
    return run


def test_every_query_costs_its_committed_number_of_queries(measure):
    entries = baselines()
    vendor = connection.vendor
    counted = {name: count for name, (count, _data) in measure(entries).items()}
    if UPDATE:
        changed = {name: count for name, count in counted.items() if expected(entries[name], vendor) != count}
        for name, count in changed.items():
            entries[name]["queries"] = recorded(entries[name].get("queries"), vendor, count)
        if changed or BASELINES.read_text(encoding="utf-8") != layout(entries):
            BASELINES.write_text(layout(entries), encoding="utf-8")
        print(f"\n{BASELINES.name} ({vendor}): {len(changed)} counts recorded: {changed}")
        return
    wrong = {name: (expected(entries[name], vendor), count) for name, count in counted.items()
             if expected(entries[name], vendor) != count}
    assert not wrong, (f"SQL queries per request differ from {BASELINES.name} on {vendor} "
                       "(entry: committed -> now; fewer is an improvement to record):\n"
                       + "\n".join(f"  {name}: {was} -> {now}" for name, (was, now) in wrong.items())
                       + f"\nIf the change is meant, {RECORD}.")


def _items(data) -> int:
    """The rows a root list answered: a list's length, a connection's edges."""
    [value] = data.values()
    return len(value["edges"]) if isinstance(value, dict) else len(value)


def test_each_query_costs_the_same_with_more_rows(measure):
    entries = baselines()
    few = measure(entries)
    rows_add(measure.world, MORE_ROWS)
    many = measure(entries)
    grown = {name: (few[name][0], many[name][0]) for name in entries if few[name][0] != many[name][0]}
    assert not grown, "SQL queries per request grew with the rows (entry: before -> after):\n" + "\n".join(
        f"  {name}: {before} -> {after}" for name, (before, after) in grown.items())
    lists = [name for name, entry in entries.items()
             if root_fields(entry["query"]) & {f for f, field in QUERY.fields.items() if is_list_or_connection(field.type)}]
    assert lists
    unchanged = [name for name in lists if _items(many[name][1]) < _items(few[name][1]) + MORE_ROWS]
    assert not unchanged, f"lists that did not get {MORE_ROWS} more rows, so their count proves nothing: {unchanged}"
