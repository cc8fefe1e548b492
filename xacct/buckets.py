"""Emptying a developer's build bucket before --purge deletes its stack, only when asked to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xacct.render import Output


def versions(s3: Any, bucket: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            found.append({"Key": item["Key"], "VersionId": item["VersionId"]})
    return found


def empty_after_confirmation(s3: Any, bucket: str, account: str | None, o: Output, interactive: bool) -> bool:
    """True when the bucket is empty (now). Objects are deleted only after the user types the
    account id: a build bucket may hold the only copy of an artifact."""
    objects = versions(s3, bucket)
    if not objects:
        return True
    if not interactive:
        o.error(f"{bucket} holds {len(objects)} object versions; emptying it needs a terminal to confirm on")
        return False
    from xacct.wizard import type_to_confirm

    o.info(f"[bold yellow]{bucket}[/] holds {len(objects)} object versions, which --purge would delete.")
    typed = type_to_confirm(f"Type the account id {account} to delete them:")
    if typed.strip() != account:
        return False
    for i in range(0, len(objects), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": objects[i : i + 1000], "Quiet": True})
    return True
