"""Model version folders: the direction booster in LightGBM text format and metadata.json; reading
and writing."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

METADATA_FILE = "metadata.json"
BOOSTER_FILE = "direction.txt"
FORMAT_VERSION = 2
RETIRED_FORMATS = {1: "two move-event heads (long.txt, short.txt) on the v1 features"}


class ModelMissing(FileNotFoundError):
    """No usable model in the folder: run `signaldesk train` or point SIGNALDESK_MODEL at a model
    version."""


class ModelMismatch(ValueError):
    """The model was trained on other features than the code computes; retrain or use a matching
    version."""


def read_metadata(folder: Path) -> dict:
    """Return a model folder's metadata; raise ModelMissing when the folder, a file or the JSON is
    unusable."""
    folder = Path(folder)
    path = folder / METADATA_FILE
    if not path.is_file():
        raise ModelMissing(
            f"model folder {folder}: missing {METADATA_FILE}; train one with "
            f"`signaldesk train --symbols BTC_JPY,ETH_JPY --out models/<version>` "
            f"or set SIGNALDESK_MODEL to an existing version"
        )
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelMissing(f"{path}: not valid JSON ({exc})") from None
    check_format(folder, metadata)
    if not (folder / BOOSTER_FILE).is_file():
        raise ModelMissing(f"model folder {folder}: missing {BOOSTER_FILE}")
    return metadata


def check_format(folder: Path, metadata: dict) -> None:
    """Raise ModelMissing for a metadata format this code does not read, saying what to do."""
    found = metadata.get("format")
    if found == FORMAT_VERSION:
        return
    if found in RETIRED_FORMATS:
        raise ModelMissing(
            f"model {folder} has the retired format {found} ({RETIRED_FORMATS[found]}); this code reads "
            f"format {FORMAT_VERSION} (one calibrated up-vs-down model): activate a newer version "
            f"(`signaldesk model list`) or train one"
        )
    raise ModelMissing(f"{folder / METADATA_FILE}: metadata format {found!r}, this code reads 2")


def check_feature_names(folder: Path, model_names: list[str], code_names: list[str]) -> None:
    """Raise ModelMismatch naming both lists when the model's features differ from the code's."""
    if list(model_names) != list(code_names):
        raise ModelMismatch(
            f"model {folder} was trained on features {list(model_names)} but the code computes "
            f"{list(code_names)}; retrain the model (signaldesk train) or use a matching version"
        )


def learned_until(metadata: dict) -> datetime | None:
    """Return when the newest candle the model learned from closed (its age counts from here), or
    None."""
    text = metadata.get("trained_at") or metadata.get("created_at")
    try:
        moment = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return moment if moment and moment.tzinfo else None


def write_version(folder: Path, booster, metadata: dict) -> Path:
    """Write a new model version folder whole or not at all; refuse one that exists (never
    overwritten)."""
    folder = Path(folder)
    if folder.exists():
        raise FileExistsError(
            f"{folder} already exists; model versions are never overwritten, choose a new --out"
        )
    partial = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted write
    partial.mkdir(parents=True)
    booster.save_model(str(partial / BOOSTER_FILE))
    document = {"format": FORMAT_VERSION, **metadata}
    (partial / METADATA_FILE).write_text(
        json.dumps(document, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
    partial.rename(folder)
    return folder
