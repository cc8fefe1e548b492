"""Stacks from the seed project (jasonwadsworth/AWS-CrossAccount-CrossRegion-Pipeline, the blog
post's code), recognised from their templates, and what their template implies for a change. Pure."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass

from xacct.core import grants, runtimes

SEED_REPOSITORY = "jasonwadsworth/AWS-CrossAccount-CrossRegion-Pipeline"
# Resources only the seed's CrossAccountPrimary.yaml declares (1.0.0); this project's primary
# template calls its key ArtifactKey and its function Replicator.
SEED_PRIMARY = ("KMSKey", "ReplicationFunction", "ReplicationPolicy", "SyncArtifactsFunction")


# And the seed's other two templates, by what only they declare.
SEED_DEPLOY = ("CrossAccountCodePipelineRole", "CrossAccountCloudFormationRole")
SEED_DEVELOPER = ("BuildBucketPolicy",)


def kind(template: str) -> str | None:
    """Which of the seed's three templates a deployed template is (None: not the seed's)."""
    doc = grants.load(template)
    resources = doc.get("Resources") or {}
    if all(r in resources for r in SEED_PRIMARY) and "ArtifactKey" not in resources:
        return "CrossAccountPrimary"
    if all(r in resources for r in SEED_DEPLOY):
        return "CrossAccountDeploy"
    if set(resources) == set(SEED_DEVELOPER) and "ReplicationFunctionRoleArn" in (doc.get("Parameters") or {}):
        return "CrossAccountDeveloper"
    return None


@dataclass(frozen=True)
class Found:
    """What a deployed template is, in words for the plan."""

    name: str  # "seed project 1.0"
    notes: tuple[str, ...]


def recognise(template: str) -> Found | None:
    """The seed's primary template (None: another template, this project's included)."""
    if kind(template) != "CrossAccountPrimary":
        return None
    resources = grants.load(template).get("Resources") or {}
    notes = [
        f"the central stack holds the seed project's template ({SEED_REPOSITORY} 1.0): only its replication "
        "parameters change; its template stays as it is",
    ]
    if not _reads_build_objects(resources.get("ReplicationPolicy") or {}):
        notes.append(
            "its replication role may read the build bucket but not the objects in it (s3:Get* names the "
            "bucket ARN only), so on AWS its function's copies fail at the source; --adopt moves the stack "
            "to this project's template, keeping its key, buckets, exports and registrations"
        )
    return Found("seed project 1.0", tuple(notes))


def _reads_build_objects(policy: dict[str, object]) -> bool:
    """Whether a statement of the seed's replication policy allows s3:GetObject on the build
    bucket's objects (an object ARN ends in /KEY; the seed's own names the bucket ARN only)."""
    document = (policy.get("Properties") or {}).get("PolicyDocument") or {}  # type: ignore[attr-defined]
    for statement in document.get("Statement") or []:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action")
        actions = [actions] if isinstance(actions, str) else actions or []
        resource = json.dumps(statement.get("Resource"))
        objects = "/*" in resource or '"*"' in resource
        if any(fnmatch.fnmatchcase("s3:GetObject", str(a)) for a in actions) and "BuildBucket" in resource and objects:
            return True
    return False


@dataclass(frozen=True)
class Blocked:
    logical_id: str
    runtime: str
    since: str  # ISO date


def blocked_updates(stack: grants.StackChange) -> list[Blocked]:
    """Functions the change would update whose runtime Lambda no longer lets anyone update: the
    stack update would fail on them and roll back (runtimes.py)."""
    resources = grants.load(stack.template).get("Resources") or {}
    found = []
    for action, logical, kind in grants.resource_changes(stack):
        if action != "Modify" or kind != "AWS::Lambda::Function":
            continue
        runtime = str((resources[logical].get("Properties") or {}).get("Runtime", ""))
        since = runtimes.update_blocked(runtime)
        if since is not None:
            found.append(Blocked(logical, runtime, since.isoformat()))
    return found
