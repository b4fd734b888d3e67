"""Every message exists in Japanese and English, keeps its placeholders, and renders as Telegram
HTML within Telegram's limits; the compiled catalog is the one its .po says."""

from __future__ import annotations

import gettext
import io
import re
import string
from html import escape
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.views import BOT_COMMANDS, DYNAMIC_COMMANDS, help_text
from jobs.demo import telegram_rules as rules
from signaldesk.i18n import LOCALE_DIR, Html, words

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"t": None, "tn": (1, 2), "plain": None, "N_": None}
PO = LOCALE_DIR / "ja" / "LC_MESSAGES" / "signaldesk.po"
MO = PO.with_suffix(".mo")


def extracted(keywords: dict = KEYWORDS) -> set:
    """Return every message marked in the code with `keywords` (as pybabel extracts them; see
    babel.cfg)."""
    found = set()
    method_map = [("bot/**.py", "python"), ("signaldesk/**.py", "python"), ("jobs/**.py", "python")]
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def command_descriptions() -> set[str]:
    """Return the command descriptions: plain text (set_my_commands; /help escapes them)."""
    return {text for _name, text in BOT_COMMANDS + DYNAMIC_COMMANDS}


def plain_messages() -> set[str]:
    """Return the messages shown as plain text: buttons, chart labels, command descriptions."""
    return extracted({"plain": None}) | command_descriptions()


def catalog():
    with PO.open("rb") as handle:
        return read_po(handle, locale="ja")


def names(text: str) -> set[str]:
    """Return the placeholder names of a message."""
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def tags(text: str) -> list[str]:
    return re.findall(r"</?[a-z-]+", text)


def test_every_message_in_the_code_has_a_japanese_translation():
    po = catalog()
    translated = {m.id for m in po if m.id and m.string and all(m.string) and not m.fuzzy}
    missing = sorted(map(str, extracted() - translated))
    assert missing == [], f"run pybabel extract/update and translate: {missing}"
    assert len(translated) > 250


def test_translations_keep_placeholders_and_markup():
    for message in catalog():
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        texts = [message.string] if isinstance(message.string, str) else list(message.string)
        for text in texts:
            assert names(text) == names(ids[0]) | (names(ids[-1]) - names(ids[0])), message.id
            assert tags(text) == tags(ids[0]), message.id


def test_the_compiled_catalog_is_the_po_compiled():
    buffer = io.BytesIO()
    write_mo(buffer, catalog())
    fresh = gettext.GNUTranslations(io.BytesIO(buffer.getvalue()))
    committed = gettext.GNUTranslations(MO.open("rb"))
    assert fresh._catalog == committed._catalog, (
        "run: pybabel compile -d signaldesk/locale -D signaldesk"
    )


def sample(text: str) -> dict:
    """Return a value for every placeholder: numbers where a format spec needs one, else
    HTML-hostile text (it must come out escaped)."""
    values = {}
    for _, field, spec, _ in string.Formatter().parse(text):
        if field:
            values[field] = 7 if spec else "<&> 1,234"
    return values


def test_every_message_renders_as_valid_telegram_html_in_both_languages():
    html = extracted({"t": None, "tn": (1, 2), "N_": None}) - command_descriptions()
    assert len(html) > 200
    for message in html:
        for lang in ("en", "ja"):
            for text in rendered(words(lang), message):
                assert isinstance(text, Html)
                refusal = rules.text_refusal(text, "HTML", rules.MAX_TEXT, empty_ok=False)
                assert refusal is None, (lang, message, refusal)


def test_plain_messages_render_and_escape_to_valid_telegram_html_in_both_languages():
    for message in plain_messages():
        for lang in ("en", "ja"):
            text = words(lang).plain(message, **sample(message))
            assert text.strip(), (lang, message)
            refusal = rules.text_refusal(escape(text), "HTML", rules.MAX_TEXT, empty_ok=False)
            assert refusal is None, (lang, message, refusal)


def test_command_menus_are_accepted_in_both_languages():
    for lang in ("en", "ja"):
        w = words(lang)
        menu = [{"command": name, "description": w.plain(text)} for name, text in BOT_COMMANDS]
        assert rules.commands_refusal(menu, lang) is None
        dynamic = [w.plain(text) for _name, text in DYNAMIC_COMMANDS]
        assert all(1 <= rules.utf16_length(text) <= 256 for text in dynamic), lang


def test_help_is_valid_telegram_html_in_both_languages():
    for lang in ("en", "ja"):
        text = help_text(words(lang))
        assert rules.text_refusal(text, "HTML", rules.MAX_TEXT, empty_ok=False) is None, lang
        assert "&lt;id&gt;" in text


def rendered(w, message) -> list:
    """Return a message rendered with sample values (both plural forms of a plural message)."""
    if not isinstance(message, tuple):
        return [w.t(message, **sample(message))]
    values = sample(message[0] + message[1])
    values.pop("n", None)
    return [w.tn(*message, n, **values) for n in (1, 2)]
