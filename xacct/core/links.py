"""One link of a developer's replication path, as `--verify` judges it. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    name: str
    ok: bool
    detail: str
    fix: str = ""
