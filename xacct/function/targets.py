"""Who is registered: the (bucket, owner) pairs the central stack's SSM parameters hold, read on every
event (Lambda's 4 KB environment would bind first). Part of the replication function."""

import time
from typing import Any

from xacct.function.copies import log

# IAM and KMS changes take effect eventually: a target registered this recently whose write is
# refused may be waiting for its grants, so the refusal is retried (Lambda retries the event too).
RECENT_SECONDS = 600


class Targets(list):  # type: ignore[type-arg]
    """The registered (bucket, owner) pairs; `recent` when the list changed within RECENT_SECONDS."""

    def __init__(self, pairs: Any = (), recent: bool = False) -> None:
        super().__init__(pairs)
        self.recent = recent


MORE = 10  # ReplicationMore01..10: developers past the four lists, as BUCKET=KEY-ID


def targets(ssm: Any, buckets_name: str, keys_name: str, more_prefix: str = "") -> Targets:
    """(bucket, owner) of each registered developer, once, or none when replication is off: "true:b1,b2"
    (EnableReplication:ReplicationBucketList) with "keys:arn1,arn2" (ReplicationCMKs, whose accounts own
    the buckets), then "more:xacct-build-ACCOUNT-REGION=KEY-ID,..." (ReplicationMoreNN, owned by ACCOUNT)."""
    names_read = [buckets_name, keys_name] + [f"{more_prefix}{n:02d}" for n in range(1, MORE + 1) if more_prefix]
    found = []
    for start in range(0, len(names_read), 10):  # GetParameters takes up to 10 names
        found += ssm.get_parameters(Names=names_read[start : start + 10])["Parameters"]
    values = {p["Name"]: p["Value"] for p in found}
    changed = [p["LastModifiedDate"] for p in found if p.get("LastModifiedDate")]
    recent = bool(changed) and time.time() - max(c.timestamp() for c in changed) < RECENT_SECONDS
    enabled, _, buckets = values.get(buckets_name, "false:").partition(":")
    _, _, keys = values.get(keys_name, "keys:").partition(":")
    if enabled.strip() != "true":
        return Targets()
    names = [b.strip() for b in buckets.split(",") if b.strip()]
    owners = [k.strip().split(":")[4] if k.count(":") >= 5 else "" for k in keys.split(",") if k.strip()]
    if len(names) != len(owners):
        # Never write by name alone: an entry without its owner is not served.
        log({"error": "the bucket and key lists differ in length", "buckets": names, "owners": owners})
    pairs = [(b, o) for b, o in zip(names, owners, strict=False) if o]
    for name in names_read[2:]:
        for item in values.get(name, "more:").partition(":")[2].split(","):
            bucket = item.strip().partition("=")[0]
            parts = bucket.split("-")
            if bucket.startswith("xacct-build-") and len(parts) > 3 and len(parts[2]) == 12 and parts[2].isdigit():
                pairs.append((bucket, parts[2]))
    # Once each: while CloudFormation rewrites the parameters one by one, an entry may be read twice.
    return Targets(dict.fromkeys(pairs), recent)
