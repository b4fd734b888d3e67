"""What the Telegram Bot API refuses, checked the way Telegram checks it (for the local Bot API;
stdlib only).

HTML: only Telegram's tag set (b, strong, i, em, u, ins, s, strike, del, span class="tg-spoiler",
tg-spoiler, a href, code, pre, blockquote [expandable], tg-emoji emoji-id), properly nested, and
every `<`, `>`, `&` outside a tag written as an entity (&lt; &gt; &amp; &quot; or numeric). Text
1-4,096 characters after entity parsing, captions up to 1,024, callback answers up to 200, callback
data 1-64 bytes. Each check returns None when Telegram would accept, else the error description
Telegram answers with.
"""

from __future__ import annotations

import html
import re

MAX_TEXT, MAX_CAPTION, MAX_ANSWER, MAX_CALLBACK_DATA = 4096, 1024, 200, 64
TAGS = {
    "b": (),
    "strong": (),
    "i": (),
    "em": (),
    "u": (),
    "ins": (),
    "s": (),
    "strike": (),
    "del": (),
    "span": ("class",),
    "tg-spoiler": (),
    "a": ("href",),
    "code": ("class",),
    "pre": (),
    "blockquote": ("expandable",),
    "tg-emoji": ("emoji-id",),
}
REQUIRED = {"span": "class", "a": "href", "tg-emoji": "emoji-id"}
TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)"  # "<" or "</" and the tag name, then its attributes:
    r"((?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
ATTRIBUTE = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});")
PARSE = "Bad Request: can't parse entities: "


class Refused(Exception):
    """Telegram would answer 400 with this description."""


def utf16_length(text: str) -> int:
    """Return the length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def parsed_text(text: str, parse_mode: str | None) -> str:
    """Return the visible text after entity parsing; raise Refused for markup Telegram cannot
    parse."""
    if (parse_mode or "").upper() != "HTML":
        return text
    visible: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "<":
            i = _tag(text, i, stack)
        elif text[i] == "&":
            match = ENTITY.match(text, i)
            if not match:
                raise Refused(f"{PARSE}Character entity expected at byte offset {_offset(text, i)}")
            visible.append(html.unescape(match.group(0)))
            i = match.end()
        elif text[i] == ">":
            raise Refused(f"{PARSE}Unexpected end tag at byte offset {_offset(text, i)}")
        else:
            visible.append(text[i])
            i += 1
    if stack:
        raise Refused(f'{PARSE}Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(visible)


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _tag(text: str, i: int, stack: list[str]) -> int:
    """Check one tag at text[i] against Telegram's rules, keep the open-tag stack; return the index
    after it."""
    match = TAG.match(text, i)
    if not match:
        raise Refused(f"{PARSE}Unclosed start tag at byte offset {_offset(text, i)}")
    closing, name, attributes = match.group(1), match.group(2).lower(), match.group(3)
    if name not in TAGS:
        raise Refused(f'{PARSE}Unsupported start tag "{name}" at byte offset {_offset(text, i)}')
    if closing:
        if not stack or stack[-1] != name:
            raise Refused(
                f'{PARSE}Unmatched end tag at byte offset {_offset(text, i)}, expected "</'
                f'{stack[-1] if stack else ""}>", found "</{name}>"'
            )
        stack.pop()
        return match.end()
    _check_attributes(name, dict(ATTRIBUTE.findall(attributes)), stack, _offset(text, i))
    stack.append(name)
    return match.end()


def _check_attributes(name: str, attributes: dict, stack: list[str], offset: int) -> None:
    """Refuse attributes Telegram does not accept on a tag, and missing required ones."""
    for key, value in attributes.items():
        if key.lower() not in TAGS[name]:
            raise Refused(
                f'{PARSE}Unsupported attribute "{key}" of tag "{name}" at byte offset {offset}'
            )
        value = value.strip("\"'")
        if name == "span" and value != "tg-spoiler":
            raise Refused(f'{PARSE}Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "code" and not (value.startswith("language-") and stack and stack[-1] == "pre"):
            raise Refused(
                f'{PARSE}Unsupported attribute "class" of tag "code" at byte offset {offset}'
            )
    if name in REQUIRED and REQUIRED[name] not in attributes:
        raise Refused(
            f'{PARSE}Tag "{name}" must have attribute "{REQUIRED[name]}" at byte offset {offset}'
        )


def text_refusal(
    text, parse_mode: str | None, limit: int = MAX_TEXT, empty_ok: bool = False
) -> str | None:
    """Return why Telegram refuses this message text or caption, or None."""
    if not isinstance(text, str):
        return None if empty_ok else "Bad Request: message text is empty"
    try:
        visible = parsed_text(text, parse_mode)
    except Refused as refusal:
        return str(refusal)
    if not visible.strip() and not empty_ok:
        return "Bad Request: message text is empty"
    if utf16_length(visible) > limit:
        return (
            "Bad Request: message caption is too long"
            if limit == MAX_CAPTION
            else ("Bad Request: message is too long")
        )
    return None


COMMAND = re.compile(r"[a-z0-9_]{1,32}")


def commands_refusal(commands, language_code: str | None = None) -> str | None:
    """Return why Telegram refuses a command menu (names 1-32 of a-z 0-9 _, descriptions 1-256
    characters, at most 100 commands, a two-letter language code), or None."""
    if language_code is not None and not re.fullmatch(r"[a-z]{2}", str(language_code)):
        return "Bad Request: invalid language code specified"
    if not isinstance(commands, list) or len(commands) > 100:
        return "Bad Request: too many commands specified"
    for command in commands:
        name, text = str(command.get("command", "")), str(command.get("description", ""))
        if not COMMAND.fullmatch(name):
            return "Bad Request: BOT_COMMAND_INVALID"
        if not 1 <= utf16_length(text) <= 256:
            return "Bad Request: command description is too long"
    return None


def markup_refusal(markup) -> str | None:
    """Return why Telegram refuses an inline keyboard (callback data outside 1-64 bytes), or
    None."""
    if not markup:
        return None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        return "Bad Request: can't parse reply keyboard markup JSON object"
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA:
                return "Bad Request: BUTTON_DATA_INVALID"
            if not str(button.get("text") or "").strip():
                return "Bad Request: text buttons are unallowed in the inline keyboard"
    return None
