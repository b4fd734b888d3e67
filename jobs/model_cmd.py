"""`signaldesk model list | activate VERSION | rollback`: see the model versions and choose the
active one."""

from __future__ import annotations

from jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json

ACTIONS = ("list", "activate", "rollback")


def add_arguments(parser) -> None:
    """Add the options of `model`."""
    parser.add_argument(
        "action",
        choices=ACTIONS,
        help="list the versions; activate VERSION; roll back to the version active before",
    )
    parser.add_argument("version", nargs="?", help="the version to activate (a folder name)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def run(args, settings) -> int:
    """List versions, or change the active one (recorded in the database, audited, announced)."""
    from signaldesk.clock import utc_now
    from signaldesk.storage import open_current_db

    if args.action == "activate" and not args.version:
        print("model activate: name the version, e.g. `signaldesk model activate 20261207-0330`")
        return EXIT_USAGE
    db = open_current_db(settings.db_path)
    try:
        if args.action == "list":
            return list_versions(db, settings, args.json)
        return change(db, settings, args, utc_now())
    finally:
        db.close()


def list_versions(db, settings, as_json: bool) -> int:
    """Print every version with its training data end, holdout skill, rate and edge verdict; mark
    the active."""
    from signaldesk.model.registry import active_folder, list_versions

    active = active_folder(db, settings)
    rows = [version_row(v, v.folder == active) for v in list_versions(settings)]
    for row in rows:
        print(
            f"{'*' if row['active'] else ' '} {row['version']:24} {row['where']:9} learned until "
            f"{row['learned_until'] or '?':10}  {row['summary']}"
        )
    if settings.model_pinned:
        print(f"SIGNALDESK_MODEL pins the active model to {settings.model_dir}")
    if as_json:
        print_json({"active": active.name, "pinned": settings.model_pinned, "versions": rows})
    return EXIT_OK


def version_row(info, active: bool) -> dict:
    """Return one version as a row of the list."""
    row = {
        "version": info.name,
        "active": active,
        "where": info.where,
        "learned_until": f"{info.trained_at:%Y-%m-%d}" if info.trained_at else None,
        "usable": info.usable,
    }
    if not info.usable:
        return {**row, "summary": f"NOT USABLE: {info.problem}"}
    holdout = (info.metadata.get("metrics") or {}).get("holdout") or {}
    edge = (info.metadata.get("edge") or {}).get("verdict", "edge not measured")
    auc = holdout.get("sign_auc")
    rate = holdout.get("signals_per_day")
    summary = (
        f"holdout sign AUC {auc:.3f}, {rate:.2f} signals/day; {edge}"
        if auc is not None and rate is not None
        else edge
    )
    return {**row, "summary": summary, "holdout": holdout, "edge": edge}


def change(db, settings, args, now) -> int:
    """Activate a version or roll back; queue an alert so the trader hears of it."""
    from signaldesk import outbox
    from signaldesk.model.registry import ActivationError, activate, rollback

    try:
        if args.action == "activate":
            previous, current = (
                activate(db, settings, args.version, now, "cli", "manual"),
                args.version,
            )
        else:
            previous, current = rollback(db, settings, now, "cli")
    except ActivationError as exc:
        print(f"model {args.action}: {exc}")
        return EXIT_FAILED
    text = (
        f"model {current} is now active (was {previous}; `signaldesk model {args.action}` by hand)"
    )
    outbox.queue_alert(db, "info", "model", text, now)
    print(text)
    if args.json:
        print_json({"active": current, "previous": previous})
    return EXIT_OK
