"""Simplified Chinese (the default) and English, through the real GraphQL endpoint and the committed catalogs."""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import PASSWORD

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
CATALOG_LANGUAGES = ["zh_Hans", "en"]

LOGIN = """mutation($u: String!, $p: String!) {
  login(input: {username: $u, password: $p}) { errors { code message } accessToken }
}"""
ME = "{ me { username roleLabel } }"

ZH_WRONG_LOGIN = "用户名、手机号码或密码错误。"
EN_WRONG_LOGIN = "Wrong username, phone number or password."

CHINESE = pytest.param(None, ZH_WRONG_LOGIN, "网格员", id="default")
CHINESE_BROWSER = pytest.param("zh-CN,zh;q=0.9,en;q=0.8", ZH_WRONG_LOGIN, "网格员", id="zh-CN")
ENGLISH = pytest.param("en", EN_WRONG_LOGIN, "Grid worker", id="en")
ENGLISH_BROWSER = pytest.param("en-US,en;q=0.9", EN_WRONG_LOGIN, "Grid worker", id="en-US")


@pytest.mark.parametrize("language,wrong_login,worker_label", [CHINESE, CHINESE_BROWSER, ENGLISH, ENGLISH_BROWSER])
def test_login_error_and_role_label_follow_accept_language(gql, users, token_for, language, wrong_login,
                                                           worker_label):
    payload = gql(LOGIN, {"u": "worker", "p": PASSWORD + "-wrong"}, language=language).data["login"]
    assert payload["accessToken"] is None
    assert payload["errors"] == [{"code": "invalid_credentials", "message": wrong_login}]

    me = gql(ME, token=token_for(users["worker"]), language=language)
    assert me.errors == []
    assert me.data["me"] == {"username": "worker", "roleLabel": worker_label}


def test_default_language_is_simplified_chinese():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _name in settings.LANGUAGES] == ["zh-hans", "en"]


# --- the committed catalogs ------------------------------------------------------------------------------------


@dataclass
class PoEntry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def translations(self) -> list[str]:
        return list(self.msgstr_plural.values()) if self.msgid_plural is not None else [self.msgstr]

    def catalog_items(self):
        """The (key, value) pairs msgfmt writes and ``GNUTranslations`` reads back for this entry."""
        msgid = self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"
        if self.msgid_plural is None:
            yield msgid, self.msgstr
        else:
            for index, text in sorted(self.msgstr_plural.items()):
                yield (msgid, index), text


def parse_po(path: Path) -> list[PoEntry]:
    """A small .po reader (polib is not a dependency): flags, contexts, plurals, continued strings."""
    entries: list[PoEntry] = []
    entry, target, in_msgstr = PoEntry(), None, False

    def finish():
        nonlocal entry, target, in_msgstr
        if target is not None:
            entries.append(entry)
        entry, target, in_msgstr = PoEntry(), None, False

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if in_msgstr and (not line or line.startswith("#") or line.startswith(("msgctxt ", "msgid "))):
            finish()  # an entry ends after its msgstr: at a blank line, a comment or the next msgid
        if not line:
            continue
        if line.startswith("#~"):
            entry.obsolete = True
        elif line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert target is not None, f"{path}:{number}: a continued string without a keyword"
            append(entry, target, ast.literal_eval(line))
        else:
            keyword, _space, text = line.partition(" ")
            if keyword.startswith("msgstr["):
                target = ("msgstr_plural", int(keyword[len("msgstr["):-1]))
            else:
                assert keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"), f"{path}:{number}: {raw!r}"
                target = (keyword, None)
            in_msgstr = keyword.startswith("msgstr")
            append(entry, target, ast.literal_eval(text), start=True)
    finish()
    return [entry for entry in entries if not entry.obsolete]


def append(entry: PoEntry, target: tuple[str, int | None], text: str, *, start: bool = False) -> None:
    name, index = target
    if name == "msgstr_plural":
        entry.msgstr_plural[index] = ("" if start else entry.msgstr_plural[index]) + text
    else:
        setattr(entry, name, ("" if start else getattr(entry, name)) + text)


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


def messages(language: str) -> list[PoEntry]:
    """The catalog's entries without its header."""
    return [entry for entry in parse_po(po_path(language)) if entry.msgid != "" or entry.msgctxt is not None]


def test_every_chinese_message_is_translated_and_not_fuzzy():
    entries = parse_po(po_path("zh_Hans"))
    assert len(entries) > 1, "the catalog has no messages: run makemessages"
    fuzzy = [entry.msgid for entry in entries if "fuzzy" in entry.flags]
    untranslated = [entry.msgid for entry in entries[1:] if not all(text.strip() for text in entry.translations)]
    assert fuzzy == []
    assert untranslated == []


def test_chinese_translations_keep_every_placeholder():
    placeholder = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]*\}")
    for entry in messages("zh_Hans"):
        source = entry.msgid_plural or entry.msgid  # Chinese has one plural form: the plural's placeholders
        for text in entry.translations:
            assert sorted(placeholder.findall(text)) == sorted(placeholder.findall(source)), entry.msgid


def test_chinese_and_english_catalogs_hold_the_same_messages():
    def keys(language):
        return {(entry.msgctxt, entry.msgid) for entry in messages(language)}

    assert keys("zh_Hans") == keys("en")


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_committed_mo_is_the_compiled_po(language):
    """What msgfmt builds from the .po (its translated, non-fuzzy messages) is exactly what the committed .mo holds.

    Catalogs are compared, not modification times: a git checkout does not keep mtimes.  Of the header only the
    fields that change behaviour are compared: msgfmt drops POT-Creation-Date, which makemessages rewrites.
    """
    mo_path = po_path(language).with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: run `manage.py compilemessages` and commit it"
    header, *entries = parse_po(po_path(language))
    assert header.msgid == "" and header.msgctxt is None
    expected = {}
    for entry in entries:
        if "fuzzy" in entry.flags or not all(entry.translations):
            continue  # msgfmt leaves fuzzy and untranslated messages out
        expected.update(entry.catalog_items())
    with mo_path.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    # GNUTranslations keeps what it read in ``_catalog``: the only way to list a .mo's messages.
    in_mo = {key: value for key, value in compiled._catalog.items() if key != ""}
    stale = f"{mo_path} is stale: run `manage.py compilemessages --ignore=.venv` and commit it"
    assert in_mo == expected, stale
    po_header = dict(line.split(": ", 1) for line in header.msgstr.splitlines() if ": " in line)
    for name in ("Language", "Content-Type", "Plural-Forms"):
        assert compiled.info().get(name.lower()) == po_header[name], stale


def test_chinese_catalog_is_what_django_serves():
    from django.utils import translation

    with translation.override("zh-hans"):
        for entry in messages("zh_Hans"):
            if entry.msgctxt is None and entry.msgid_plural is None:
                assert translation.gettext(entry.msgid) == entry.msgstr


# --- the source and the catalog agree ---------------------------------------------------------------------------

GETTEXT_FUNCTIONS = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy",
                     "pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}
# The folders makemessages runs without (--ignore=.venv --ignore=var --ignore=tests), and the catalogs.
NOT_SCANNED = {".venv", "var", "tests", "locale", "node_modules"}


def source_msgids() -> dict[tuple[str | None, str], str]:
    """Every literal string handed to a gettext function in the project's Python code, with where it is."""
    found = {}
    base = Path(settings.BASE_DIR)
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(base).parts
        if any(part in NOT_SCANNED or part.startswith(".") for part in parts[:-1]):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name not in GETTEXT_FUNCTIONS:
                continue
            args = [arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
                    for arg in node.args]
            context = None
            if name.startswith(("pgettext", "npgettext")):
                context, args = (args[0] if args else None), args[1:]
            if args and args[0] is not None:
                found[(context, args[0])] = f"{path.relative_to(base)}:{node.lineno}"
    return found


def test_every_translatable_string_in_the_code_is_in_the_catalog():
    in_catalog = {(entry.msgctxt, entry.msgid) for entry in messages("zh_Hans")}
    missing = {key[1]: where for key, where in source_msgids().items() if key not in in_catalog}
    assert missing == {}, "run makemessages, translate, compilemessages (see tests/test_i18n.py)"
