"""/settings, /show_config, /version and /logs in the trader's language (never a secret)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from html import escape

from signaldesk.i18n import N_, Html, Words

EVENTS = {
    "signal": N_("signal cards"),
    "entry": N_("order placed"),
    "fill": N_("fills"),
    "stop_move": N_("stop moves"),
    "exit": N_("trade closed"),
    "report": N_("morning report"),
    "warning": N_("warnings"),
    "alert": N_("critical alerts"),
}
LEVELS = {"on": N_("🔔 with sound"), "silent": N_("🔕 silent"), "off": N_("✖️ off")}
LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}
# Settings sections shown by /show_config (secrets and URLs are never among them).
CONFIG_SECTIONS = ("telegram", "notify", "strategy", "risk", "report", "health", "bot", "listener")


def settings_text(w: Words, settings) -> Html:
    """Render /settings: language, active and quiet hours, and how each kind of message arrives."""
    t, notify = settings.telegram, settings.notify
    if t.outside_active_hours == "hold":
        outside = w.t("held (listed in the morning report)")
    else:
        outside = w.t("sent without sound")
    lines = [
        w.t("<b>Settings</b> (config.toml, [telegram] and [notify])"),
        w.t("Language: {language}", language=LANGUAGE_NAMES.get(t.language, t.language)),
        w.t("Active hours: {hours} JST; signals outside them: {outside}", hours=t.active_hours,
            outside=outside),
        w.t("Quiet hours: {hours} JST (everything silent but critical alerts)",
            hours=t.quiet_hours) if t.quiet_hours else w.t("Quiet hours: none"),
        w.t("<b>How each message reaches you</b>"),
    ]  # fmt: skip
    for key, name in EVENTS.items():
        level = getattr(notify, key)
        lines.append(Html(f"• {w.t(name)}: {w.t(LEVELS.get(level, level))}"))
    lines.append(
        w.t("Change them in config.toml and restart the bot; /show_config shows the rest.")
    )
    return Html("\n".join(lines))


def config_text(w: Words, settings, model_name: str) -> Html:
    """Render /show_config: what runs and every settings section (secrets shown only as set)."""
    token = w.t("set") if settings.telegram_bot_token else w.t("not set")
    keys = w.t("set") if settings.gmo_api_key and settings.gmo_api_secret else w.t("not set")
    lines = [
        w.t("<b>Configuration in force</b>"),
        w.t("Mode {mode} · model {model} · database {db}", mode=settings.mode, model=model_name,
            db=str(settings.db_path)),
        w.t("Telegram token: {token} · GMO keys: {keys} · chat {chat} · people {people}",
            token=token, keys=keys, chat=str(settings.telegram_chat_id),
            people=", ".join(map(str, settings.telegram_user_ids)) or "-"),
    ]  # fmt: skip
    for name in CONFIG_SECTIONS:
        section = getattr(settings, name)
        pairs = ", ".join(f"{f.name}={_shown(getattr(section, f.name))}" for f in fields(section))
        lines.append(Html(f"<b>[{name}]</b> {escape(pairs, quote=False)}"))
    return Html("\n".join(lines))


def _shown(value) -> str:
    """Render one setting value."""
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def version_text(w: Words, versions: dict, mode: str, model: Html) -> Html:
    """Render /version."""
    return Html("\n".join([
        w.t("<b>signaldesk {version}</b> ({commit}) · mode {mode}",
            version=versions.get("signaldesk", "?"), commit=versions.get("commit", "?"), mode=mode),
        w.t("Python {python} · python-telegram-bot {ptb}", python=versions.get("python", "?"),
            ptb=versions.get("telegram", "?")),
        model,
    ]))  # fmt: skip


def logs_text(w: Words, lines: Sequence, now: datetime) -> Html:
    """Render /logs: the last warnings and errors, times in JST."""
    if not lines:
        return w.t("No warnings or errors in the logs of the last days.")
    out = [w.tn("<b>The last {n} warning or error</b>", "<b>The last {n} warnings and errors</b>",
                len(lines))]  # fmt: skip
    for line in lines:
        out.append(Html(f"{w.when(line.at, now)} {escape(line.process)}: "
                        f"{escape(line.text[:300], quote=False)}"))  # fmt: skip
    return Html("\n".join(out))
