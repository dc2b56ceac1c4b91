"""Data kept in both languages (names of categories, departments): pick the reader's."""

from __future__ import annotations

from django.utils.translation import get_language


def localized(chinese: str, english: str, language: str | None = None) -> str:
    """``english`` when the active (or given) language is English and it is filled in, else ``chinese``."""
    return english if english and (language or get_language() or "").startswith("en") else chinese
