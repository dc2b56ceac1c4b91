"""The committed SDL is the API's contract: a change to the schema must be a reviewed change to schema.graphql."""

from pathlib import Path

from django.conf import settings
from strawberry.printer import print_schema

from api.schema import schema


def test_schema_graphql_matches_the_code():
    committed = Path(settings.BASE_DIR, "schema.graphql").read_text()
    current = print_schema(schema)
    assert committed.strip() == current.strip(), (
        "The GraphQL schema changed but schema.graphql did not: review the difference and run `make schema`."
    )
