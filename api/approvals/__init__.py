"""Licence kinds, holders and certificates over GraphQL; the public verification endpoints (``views``)."""
