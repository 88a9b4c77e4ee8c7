"""Locate bundled resources (works from source and from a PyInstaller bundle)."""
from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """Path of a file under ``resources/``: ``sys._MEIPASS`` when frozen, repo root otherwise."""
    base = getattr(sys, "_MEIPASS", None)
    root = Path(base) if base else Path(__file__).resolve().parent.parent
    return root.joinpath("resources", *parts)


@lru_cache(maxsize=None)
def load_json_resource(name: str) -> dict:
    with open(resource_path(name), encoding="utf-8") as fh:
        return json.load(fh)
