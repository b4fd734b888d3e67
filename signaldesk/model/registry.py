"""Which model version the desk uses: version folders (shipped in models/, retrained in
var/models/), the active version recorded in the database (`system_state`, every change in the audit
log), activation and rollback.

Resolution: SIGNALDESK_MODEL, when set, pins the version (activation then refuses, saying why);
otherwise the version the database records; otherwise the shipped default. No LightGBM here: the bot
reads it too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from signaldesk import audit, state
from signaldesk.model.artifacts import METADATA_FILE, ModelMissing, check_format, learned_until
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.settings import Settings
    from signaldesk.storage import Database

ACTIVE_KEY = "model_active"
EVENT = "model_activate"
ROLLBACK = "rollback"


class ActivationError(ValueError):
    """The version cannot become active (unknown, unreadable, pinned, nothing to roll back to); says
    why."""


@dataclass(frozen=True)
class VersionInfo:
    """One model version folder as `model list` shows it."""

    name: str
    folder: Path
    problem: str | None
    trained_at: datetime | None
    metadata: dict
    where: str = ""

    @property
    def usable(self) -> bool:
        """Return True when this code can load the version."""
        return self.problem is None


def roots(settings: Settings) -> tuple[Path, Path]:
    """Return the shipped versions' folder (models/) and the retrained versions' folder
    (var/models/)."""
    return settings.model_dir.parent, retrained_root(settings)


def retrained_root(settings: Settings) -> Path:
    """Return where `retrain` writes new versions: models/ beside the database (the desk may write
    only var/)."""
    return settings.db_path.parent / "models"


def find_version(settings: Settings, name: str) -> Path | None:
    """Return the folder of a version by name (shipped first, then retrained), or None."""
    if not name or "/" in name or name.startswith("."):
        return None
    for root in roots(settings):
        if (root / name / METADATA_FILE).is_file():
            return root / name
    return None


def describe(folder: Path, where: str = "") -> VersionInfo:
    """Return what a version folder holds and whether this code can load it."""
    try:
        metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        check_format(folder, metadata)
        problem = None
    except (OSError, ValueError, ModelMissing) as exc:
        metadata, problem = {}, str(exc)
    return VersionInfo(folder.name, folder, problem, learned_until(metadata), metadata, where)


def list_versions(settings: Settings) -> list[VersionInfo]:
    """Return every version folder of both roots, newest training data last."""
    found = {
        path.parent.name: (path.parent, where)
        for root, where in reversed(
            list(zip(roots(settings), ("shipped", "retrained"), strict=True))
        )
        for path in root.glob(f"*/{METADATA_FILE}")
        if not path.parent.name.startswith(".")
    }
    infos = [describe(folder, where) for folder, where in found.values()]
    return sorted(infos, key=lambda v: (v.trained_at is not None, v.trained_at or 0, v.name))


def recorded_history(db: Database, default: str) -> list[str]:
    """Return the activation stack from the audit log: the default first, the active version
    last."""
    stack = [default]
    for event in reversed(audit.events(db, EVENT, limit=100_000)):
        detail = event["detail"]
        if detail.get("reason") == ROLLBACK:
            stack = stack[:-1] or [default]
        else:
            stack.append(detail["version"])
    return stack


def active_name(db: Database | None, settings: Settings) -> str:
    """Return the name of the version the desk uses now."""
    if settings.model_pinned or db is None:
        return settings.model_dir.name
    return state.get_value(db, ACTIVE_KEY) or settings.model_dir.name


def active_folder(db: Database | None, settings: Settings) -> Path:
    """Return the folder of the version the desk uses now (a recorded version that vanished: the
    default)."""
    if settings.model_pinned or db is None:
        return settings.model_dir
    return find_version(settings, active_name(db, settings)) or settings.model_dir


def activate(
    db: Database,
    settings: Settings,
    name: str,
    now: datetime,
    by: str,
    reason: str,
    figures: dict | None = None,
) -> str:
    """Make a version the active one; return the previous one. Raise ActivationError saying why
    not."""
    if settings.model_pinned:
        raise ActivationError(
            f"SIGNALDESK_MODEL pins the model to {settings.model_dir}; remove it from .env so the desk "
            f"follows the version recorded by `signaldesk model activate` / `retrain`"
        )
    folder = find_version(settings, name)
    if folder is None:
        raise ActivationError(
            f"no model version {name!r} in {' or '.join(str(r) for r in roots(settings))}; "
            f"see `signaldesk model list`"
        )
    info = describe(folder)
    if not info.usable:
        raise ActivationError(f"version {name} cannot be used: {info.problem}")
    previous = active_name(db, settings)
    record_active(db, name, now, by, {"previous": previous, "reason": reason, **(figures or {})})
    return previous


def record_active(db: Database, name: str, now: datetime, by: str, detail: dict) -> None:
    """Record the active version and its audit event in one transaction."""
    with writing(db):
        state.set_value(db, ACTIVE_KEY, name, now, by)
        audit.record(db, EVENT, by, {"version": name, **detail}, now)


def rollback(db: Database, settings: Settings, now: datetime, by: str) -> tuple[str, str]:
    """Return to the version active before the current one; return (from, to). Raise ActivationError
    if none."""
    if settings.model_pinned:
        raise ActivationError(f"SIGNALDESK_MODEL pins the model to {settings.model_dir}; unpin it")
    stack = recorded_history(db, settings.model_dir.name)
    current = active_name(db, settings)
    if len(stack) < 2:
        raise ActivationError(
            f"nothing to roll back to: {current} is the first version this desk recorded"
        )
    target = stack[-2]
    folder = find_version(settings, target)
    if folder is None or not describe(folder).usable:
        raise ActivationError(f"the previous version {target} is missing or unusable; activate one")
    record_active(db, target, now, by, {"previous": current, "reason": ROLLBACK})
    return current, target


def status_line(db: Database, settings: Settings, now: datetime) -> str:
    """Return one line for /status: the active version, how old its newest training candle is, its
    edge verdict."""
    name = active_name(db, settings)
    folder = active_folder(db, settings)
    info = describe(folder)
    if not info.usable:
        return f"Model {name}: not usable ({info.problem})"
    age = f"{(now - info.trained_at).days}d" if info.trained_at else "unknown"
    edge = info.metadata.get("edge") or {}
    verdict = edge.get("verdict", "edge after costs not measured")
    pinned = " (pinned by SIGNALDESK_MODEL)" if settings.model_pinned else ""
    return (
        f"Model {info.name}{pinned}: learned until {_day(info.trained_at)} (age {age}) · {verdict}"
    )


def _day(moment: datetime | None) -> str:
    """Return a UTC date or 'unknown'."""
    return f"{moment:%Y-%m-%d}" if moment else "unknown"
