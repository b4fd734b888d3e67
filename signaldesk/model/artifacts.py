"""Model version folders: the two boosters in LightGBM text format and metadata.json; reading and writing them."""

from __future__ import annotations

import json
from pathlib import Path

METADATA_FILE = "metadata.json"
BOOSTER_FILES = {"long": "long.txt", "short": "short.txt"}
FORMAT_VERSION = 1


class ModelMissing(FileNotFoundError):
    """No usable model in the folder: run `signaldesk train` or point SIGNALDESK_MODEL at a model version."""


class ModelMismatch(ValueError):
    """The model was trained on other features than the code computes; retrain or use a matching version."""


def read_metadata(folder: Path) -> dict:
    """Return a model folder's metadata; raise ModelMissing when the folder, a file or the JSON is unusable."""
    folder = Path(folder)
    path = folder / METADATA_FILE
    missing = [
        name for name in (METADATA_FILE, *BOOSTER_FILES.values()) if not (folder / name).is_file()
    ]
    if missing:
        raise ModelMissing(
            f"model folder {folder}: missing {', '.join(missing)}; train one with "
            f"`signaldesk train --symbols BTC_JPY,ETH_JPY --out models/<version>` "
            f"or set SIGNALDESK_MODEL to an existing version"
        )
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelMissing(f"{path}: not valid JSON ({exc})") from None
    if metadata.get("format") != FORMAT_VERSION:
        raise ModelMissing(
            f"{path}: metadata format {metadata.get('format')!r}, this code reads {FORMAT_VERSION}"
        )
    return metadata


def check_feature_names(folder: Path, model_names: list[str], code_names: list[str]) -> None:
    """Raise ModelMismatch naming both lists when the model's features differ from the code's."""
    if list(model_names) != list(code_names):
        raise ModelMismatch(
            f"model {folder} was trained on features {list(model_names)} but the code computes "
            f"{list(code_names)}; retrain the model (signaldesk train) or use a matching version"
        )


def write_version(folder: Path, boosters: dict, metadata: dict) -> Path:
    """Write a new model version folder; refuse one that already exists (versions are never overwritten)."""
    folder = Path(folder)
    if folder.exists():
        raise FileExistsError(
            f"{folder} already exists; model versions are never overwritten, choose a new --out"
        )
    folder.mkdir(parents=True)
    for direction, name in BOOSTER_FILES.items():
        boosters[direction].save_model(str(folder / name))
    document = {"format": FORMAT_VERSION, **metadata}
    (folder / METADATA_FILE).write_text(
        json.dumps(document, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
    return folder
