"""Regions and partitions as botocore knows them (its bundled partitions.json), so that a region
AWS does not have is refused when it is typed, in every partition, aws-eusc included."""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources


@cache
def known() -> dict[str, str]:
    """Every region botocore knows, with its partition."""
    data = json.loads(resources.files("botocore").joinpath("data", "partitions.json").read_text())
    return {
        region: partition["id"]
        for partition in data["partitions"]
        for region in partition["regions"]
        if not region.endswith("-global")
    }


def partitions() -> set[str]:
    return set(known().values())


def partition_of(region: str) -> str:
    return known().get(region, "aws")


def region_problem(value: str) -> str | None:
    """Why `value` is not a region botocore knows, with the likely one; None when it is."""
    if value in known():
        return None
    if value.strip() != value or not value:
        return f"{value!r} is not a region (spaces around it?)"
    near = difflib.get_close_matches(value, known(), n=1)
    return f"{value!r} is not a region AWS has" + (f"; did you mean {near[0]}?" if near else "")
