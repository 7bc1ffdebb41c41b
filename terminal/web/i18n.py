"""The pages' languages: Chinese by default, English switchable (gettext catalogues).

Source strings are English; `locale/zh.po` holds the Chinese. Some msgids are keys the templates
build from codes (`"pay:" ~ m`, `"ecard_checked"`), so `locale/en.po` gives just those an English
sentence; a msgid a catalogue lacks shows as itself, as in gettext. `problem:*` keys stay out of
`en.po` on purpose: `explain` then shows the original error message, which is more specific. The
catalogues are compiled from the `.po` files in memory when first used (Babel), so there is no
build step and no `.mo` file to keep in step. The language of a request is a context variable set
by the app from the `lang` cookie or the terminal's `[web] language`.
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = ["LANGUAGES", "current", "gettext_", "ngettext_", "translations"]

LANGUAGES = ("zh", "en")
LOCALE_DIR = Path(__file__).parent / "locale"
current: ContextVar[str] = ContextVar("medpos_language", default="zh")


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of `language`; without a `.po` file, the source strings themselves."""
    path = LOCALE_DIR / f"{language}.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=language)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def gettext_(message: str) -> str:
    return translations(current.get()).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return translations(current.get()).ngettext(singular, plural, n)
