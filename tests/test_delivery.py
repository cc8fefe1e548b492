"""Real delivery, against the replication function as deployed (its inline code, run by the
emulator's Lambda runtime with the central role's credentials): S3 events come late, out of order,
more than once and several at once. A developer bucket never goes back to an older build and never
gets the same build twice."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import session
from tests.test_replicator import BUCKET1, BUCKET2, build_artifact, deployed_function, lines, s3_event, two_developers
from xacct.function import copies, targets
from xacct.sandbox.awslambda import runtime as lambda_runtime
from xacct.sandbox.emulator import Emulator

__all__ = ["two_developers"]  # the fixture, used by name
EIGHT_MB = 8 * 1024 * 1024


def deliver(event: dict[str, Any], times: int = 1) -> list[Any]:
    """The same event, delivered `times` times at the same moment; each invocation's result."""
    function = deployed_function()
    with ThreadPoolExecutor(max_workers=times) as pool:
        runs = list(pool.map(lambda _: lambda_runtime.invoke(function, event), range(times)))
    assert all(r.ok for r in runs), [r.output for r in runs if not r.ok]
    return [lambda_runtime.last_result(r.output) for r in runs]


def versions(bucket: str, profile: str, key: str) -> list[dict[str, Any]]:
    found = session(profile).client("s3").list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    return [dict(v) for v in found if v["Key"] == key]


def current_body(bucket: str, profile: str, key: str) -> bytes:
    return bytes(session(profile).client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def settled(key: str, version: str) -> None:
    """S3's own notification for this version has been served (its log line is there)."""
    for _ in range(300):
        if any(
            line.get("version") == version
            for line in lines(timeout=0.1, count=99, artifact=f"s3://xacct-build-111111111111-us-east-1/{key}")
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"no delivery of {key} {version}")


def test_a_late_event_for_build_1_leaves_build_2_and_adds_no_version(two_developers: None) -> None:
    key = "svc/app.zip"
    first = build_artifact(key, b"build 1")
    settled(key, first)
    second = build_artifact(key, b"build 2")
    settled(key, second)
    held = {b: len(versions(b, p, key)) for b, p in ((BUCKET1, "dev1"), (BUCKET2, "dev2"))}
    results = deliver(s3_event(key, first), times=2)  # late, and twice
    assert all(r == {"delivered": 0, "skipped": 2, "failed": 0} for r in results)
    for bucket, profile in ((BUCKET1, "dev1"), (BUCKET2, "dev2")):
        assert current_body(bucket, profile, key) == b"build 2"
        assert len(versions(bucket, profile, key)) == held[bucket]
    # deliver() ran the function to its end, log lines written: read them as they are, no waiting for more
    written = lines(timeout=0, count=99, artifact=f"s3://xacct-build-111111111111-us-east-1/{key}")
    stale = [line for line in written if line.get("version") == first]
    assert any(line.get("stale") for line in stale), "the log says why build 1 was skipped"


def refused_read(bucket: str, key: str) -> str:
    """What the replication role's own HeadObject of `key` in `bucket` answers."""
    import botocore.exceptions as bx

    from tests.conftest import DEV1, DEV2, s3_as_function

    owner = DEV1 if bucket == BUCKET1 else DEV2
    try:
        s3_as_function(deployed_function()).head_object(Bucket=bucket, Key=key, ExpectedBucketOwner=owner)
    except bx.ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "200"


@pytest.mark.parametrize("round_", range(3))
def test_the_same_event_four_times_at_once_adds_exactly_one_version(two_developers: None, round_: int) -> None:
    key = f"svc/big-{round_}.zip"
    body = bytes([round_]) * EIGHT_MB
    before = {b: len(versions(b, p, key)) for b, p in ((BUCKET1, "dev1"), (BUCKET2, "dev2"))}
    # As on AWS, the role (no s3:ListBucket on developer buckets) cannot tell a missing key from a refused one.
    assert {refused_read(BUCKET1, key), refused_read(BUCKET2, key)} == {"403"}
    version = build_artifact(key, body)  # S3's own notification is the fifth delivery, at about the same moment
    deliver(s3_event(key, version), times=4)
    settled(key, version)
    for bucket, profile in ((BUCKET1, "dev1"), (BUCKET2, "dev2")):
        assert len(versions(bucket, profile, key)) == before[bucket] + 1
        assert current_body(bucket, profile, key) == body


def test_a_key_the_role_may_write_but_not_read_is_never_overwritten_blind(two_developers: None) -> None:
    """A developer bucket that holds the key but no longer lets the role read it: the write, only if the
    key is absent, is refused (412), the read again refused, and the delivery fails saying so; nothing
    is written over what the developer holds. The other developer gets the build."""
    import json

    key = "svc/unreadable.zip"
    first = build_artifact(key, b"build 1")
    settled(key, first)
    s3 = session("dev1").client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET1)["Policy"])
    for statement in policy["Statement"]:
        if statement.get("Sid") == "CentralReplicationWrites":
            statement["Action"] = [a for a in statement["Action"] if a != "s3:GetObject"]
    s3.put_bucket_policy(Bucket=BUCKET1, Policy=json.dumps(policy))
    second = build_artifact(key, b"build 2")
    function = deployed_function()
    run = lambda_runtime.invoke(function, s3_event(key, second))
    assert not run.ok  # a transient failure for a target registered minutes ago: Lambda retries the event
    [line] = [
        json.loads(text)
        for text in run.output.splitlines()
        if text.startswith("{") and json.loads(text).get("version") == second
    ]
    assert "may not read it" in line["failed"][BUCKET1]["reason"]
    assert BUCKET2 in line["delivered"] + line["skipped"]  # S3's own notification may have served it first
    assert current_body(BUCKET1, "dev1", key) == b"build 1"
    assert len(versions(BUCKET1, "dev1", key)) == 1
    assert current_body(BUCKET2, "dev2", key) == b"build 2"


hexes = st.integers(min_value=0, max_value=2**80)


@given(hexes, hexes, st.integers(0, 6), st.integers(0, 6))
def test_sequencers_compare_as_the_numbers_they_write(a: int, b: int, pad_a: int, pad_b: int) -> None:
    """S3 user guide, "Event message structure": compare after left-padding the shorter with zeros."""
    left, right = "0" * pad_a + f"{a:X}", "0" * pad_b + f"{b:x}"
    assert copies.newer(left, right) is (a > b)


@given(st.sampled_from(["v1", "v2"]), st.sampled_from(["", "00A", "00B"]), st.sampled_from(["", "00A", "00B"]))
def test_a_write_happens_only_for_something_new(held_token: str, held_seq: str, ours_seq: str) -> None:
    held = {"token": held_token, "sequencer": held_seq, "etag": '"e"'}
    decision = copies.decide(held, "v2", ours_seq)
    if held_token == "v2":
        assert decision == "held"
    elif held_seq and ours_seq and ours_seq <= held_seq:
        assert decision == "stale"
    else:
        assert decision == "write"
    assert copies.decide(None, "v2", ours_seq) == "write"


def test_a_developer_accounts_own_replicator_returns_at_once(two_developers: None) -> None:
    """Nobody is registered in a developer's own primary stack: its function reads its list and
    stops, without reading the object (here there is none: a read would fail)."""
    from tests.conftest import DEV1, moto_stack

    function = moto_stack(DEV1, "CrossAccountPrimary").resource_map["Replicator"]
    event = s3_event("never/written.zip", "0")
    event["Records"][0]["s3"]["bucket"]["name"] = BUCKET1
    run = lambda_runtime.invoke(function, event)
    assert run.ok, run.output
    assert lambda_runtime.last_result(run.output) == {"delivered": 0, "skipped": 0, "failed": 0}


def test_a_refusal_for_a_target_registered_minutes_ago_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.exceptions as bx

    monkeypatch.setattr("xacct.function.copies.time.sleep", lambda _: None)
    refusal = bx.ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "CopyObject")

    class Refused:
        def current(self) -> bool:
            return True

        def copy_to(self, bucket: str, owner: str) -> str:
            raise refusal

    for recent in (True, False):
        chosen = targets.Targets([("new-developer", "1")])
        chosen.recent = recent
        failed = copies.deliver(Refused(), chosen)["failed"]["new-developer"]  # type: ignore[arg-type]
        assert failed["permanent"] is not recent  # retried while the grants may still be on their way


def test_status_says_what_each_developer_last_received_and_what_failed(aws: Emulator) -> None:
    import json

    from tests.conftest import BUILD, DEV1, DEV2, REGION, deploy_central, fake_entry, onboard_args, run_cli

    gone = fake_entry(1)  # registered, but no such bucket exists
    deploy_central([gone])
    for profile, account in (("dev1", DEV1), ("dev2", DEV2)):
        assert run_cli(*onboard_args(profile, account), "--yes").code == 0
    version = build_artifact("svc/status.zip", b"for status")
    settled("svc/status.zip", version)
    build = ["--build-account", BUILD, "--build-region", REGION, "--build-profile", "build"]
    r = run_cli(*build, "--status", "--json")
    assert r.code == 0, r.err
    developers = {d["bucket"]: d for d in json.loads(r.out)["developers"]}
    for bucket in (BUCKET1, BUCKET2):
        assert developers[bucket]["last_delivery"]["artifact"].endswith("/svc/status.zip")
        assert developers[bucket]["last_delivery"]["version"] == version
        assert developers[bucket]["last_failure"] is None
    assert developers[gone[0]]["last_delivery"] is None
    assert "NoSuchBucket" in developers[gone[0]]["last_failure"]["reason"]
    text = run_cli(*build, "--status")
    assert "last delivery: s3://" in text.out
    assert "last failure:" in text.out
    verify = run_cli(*onboard_args(), "--verify", "--json")
    assert json.loads(verify.out)["last_delivery"]["version"] == version


def test_a_developer_onboarded_after_two_builds_starts_current(aws: Emulator) -> None:
    from tests.conftest import DEV1, DEV2, deploy_central, onboard_args, run_cli

    deploy_central()
    assert run_cli(*onboard_args("dev2", DEV2), "--yes").code == 0  # someone already registered
    first = build_artifact("svc-a/app.zip", b"a, build 1")
    settled("svc-a/app.zip", first)
    build_artifact("svc-a/app.zip", b"a, build 2")
    latest_b = build_artifact("svc-b/app.zip", b"b, build 1")
    settled("svc-b/app.zip", latest_b)
    r = run_cli(*onboard_args("dev1", DEV1), "--yes")
    assert r.code == 0, r.out + r.err
    assert "Started current: 2 artifacts copied into" in r.out
    assert current_body(BUCKET1, "dev1", "svc-a/app.zip") == b"a, build 2"
    assert current_body(BUCKET1, "dev1", "svc-b/app.zip") == b"b, build 1"
    assert len(versions(BUCKET1, "dev1", "svc-a/app.zip")) == 1  # the latest only, once
    again = run_cli(*onboard_args("dev1", DEV1), "--sync")
    assert again.code == 0, again.out + again.err
    assert "0 artifacts copied" in again.out
    assert "2 already there" in again.out
    assert len(versions(BUCKET1, "dev1", "svc-a/app.zip")) == 1


def sync_invocations(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The buckets of each invocation the tool makes to start developers current, as it makes them."""
    from xacct.aws import backfill

    invocations: list[list[str]] = []
    original = backfill.sync_group

    def spied(
        lam: Any, central: Any, buckets: list[str], progress: Any = None, waiting: Any = None
    ) -> list[backfill.Synced]:
        invocations.append(list(buckets))
        return original(lam, central, buckets, progress, waiting)

    monkeypatch.setattr(backfill, "sync_group", spied)
    return invocations


def test_no_sync_leaves_the_new_bucket_empty(aws: Emulator) -> None:
    from tests.conftest import DEV1, deploy_central, onboard_args, run_cli

    deploy_central()
    build_artifact("svc-a/app.zip", b"a")
    r = run_cli(*onboard_args("dev1", DEV1), "--yes", "--no-sync")
    assert r.code == 0, r.out + r.err
    assert "Started current" not in r.out
    assert "Contents" not in session("dev1").client("s3").list_objects_v2(Bucket=BUCKET1)


def test_with_a_fleet_file_each_developer_starts_current_with_its_own_counts(
    aws: Emulator, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch shares invocations of the function (several buckets per invocation); what each
    bucket received is still said for that bucket alone."""
    from tests.conftest import DEV3, REGION, deploy_central, onboard_args, run_cli
    from tests.test_fleet import team

    deploy_central()
    bucket3 = f"xacct-build-{DEV3}-{REGION}"
    assert run_cli(*onboard_args("dev3", DEV3), "--yes").code == 0
    version = build_artifact("svc/app.zip", b"the build")
    settled("svc/app.zip", version)  # delivered to dev3, the one registered
    invocations = sync_invocations(monkeypatch)
    path = team(tmp_path, [{"dev_profile": "dev1"}, {"dev_profile": "dev2"}, {"dev_profile": "dev3"}])
    r = run_cli("--from", str(path), "--yes")
    assert r.code == 0, r.out + r.err
    for bucket, profile in ((BUCKET1, "dev1"), (BUCKET2, "dev2")):
        assert f"Started current: 1 artifact copied into {bucket}, 0 already there" in r.out
        assert current_body(bucket, profile, "svc/app.zip") == b"the build"
    assert f"Started current: 0 artifacts copied into {bucket3}, 1 already there" in r.out
    assert invocations == [[BUCKET1, BUCKET2, bucket3]]  # this version's function: one invocation for the three
    assert len(versions(bucket3, "dev3", "svc/app.zip")) == 1


def test_a_central_function_of_an_earlier_template_starts_a_batch_one_bucket_at_a_time(
    aws: Emulator, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function of the template before per-bucket answers (main at e1e375a) reports totals only:
    after the first bucket the tool goes on one bucket per invocation, so each count is still exact."""
    from moto.s3.models import s3_backends

    from tests.conftest import BUILD, CFN, DEV3, REGION, deploy_central, run_cli
    from tests.test_fleet import team

    deploy_central(template=(CFN.parent / "tests" / "data" / "central-before-overflow.yaml").read_text())
    backend = s3_backends[BUILD]["aws"]
    name = f"xacct-build-{BUILD}-{REGION}"
    bucket = backend.get_bucket(name)
    kept, bucket.notification_configuration = bucket.notification_configuration, None  # the sync alone
    backend.put_object(name, "svc/app.zip", b"the build")
    bucket.notification_configuration = kept
    invocations = sync_invocations(monkeypatch)
    path = team(tmp_path, [{"dev_profile": "dev1"}, {"dev_profile": "dev2"}, {"dev_profile": "dev3"}])
    r = run_cli("--from", str(path), "--yes")
    assert r.code == 0, r.out + r.err
    bucket3 = f"xacct-build-{DEV3}-{REGION}"
    for b in (BUCKET1, BUCKET2, bucket3):
        assert f"Started current: 1 artifact copied into {b}, 0 already there" in r.out
    assert sorted(invocations) == [[BUCKET1], [BUCKET2], [bucket3]]


def test_a_large_build_bucket_is_synced_in_chunks_and_nothing_is_missed(
    aws: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each invocation stops once its budget is spent and says where the next resumes; the tool
    drives them until the function says it is done."""
    from moto.s3.models import s3_backends

    from tests.conftest import BUILD, DEV1, deploy_central, onboard_args, run_cli
    from xacct.aws import backfill

    deploy_central()
    assert run_cli(*onboard_args("dev1", DEV1), "--yes", "--no-sync").code == 0
    name = "xacct-build-111111111111-us-east-1"
    backend = s3_backends[BUILD]["aws"]
    bucket = backend.get_bucket(name)
    kept, bucket.notification_configuration = bucket.notification_configuration, None  # the sync alone
    keys = [f"svc-{n:02d}/app.zip" for n in range(60)]
    for key in keys:
        backend.put_object(name, key, key.encode())
    bucket.notification_configuration = kept
    chunks: list[int] = []
    monkeypatch.setattr(backfill, "BUDGET_SECONDS", 1)
    original = backfill.sync

    def counting(lam: Any, central: Any, target: str, progress: Any = None, waiting: Any = None) -> backfill.Synced:
        def each(done: backfill.Synced) -> None:
            chunks.append(done.copied)
            if progress is not None:
                progress(done)

        return original(lam, central, target, each, waiting)  # `each` hears every chunk but the last

    monkeypatch.setattr(backfill, "sync", counting)
    r = run_cli(*onboard_args("dev1", DEV1), "--sync")
    assert r.code == 0, r.out + r.err
    assert "Started current: 60 artifacts copied" in r.out
    assert chunks, chunks  # more than one invocation, each within its budget
    held = session("dev1").client("s3").list_objects_v2(Bucket=BUCKET1)["Contents"]
    assert sorted(o["Key"] for o in held) == keys


def test_status_without_the_log_permission_says_deliveries_are_unknown(aws: Emulator) -> None:
    from tests.conftest import BUILD, DEV1, REGION, deploy_central, onboard_args, run_cli
    from tests.test_authorization import operator

    deploy_central()
    assert run_cli(*onboard_args("dev1", DEV1), "--yes").code == 0
    statements = [
        {"Effect": "Allow", "Action": ["cloudformation:DescribeStacks", "sts:GetCallerIdentity"], "Resource": "*"}
    ]
    reader = operator(aws, "StatusOnly", BUILD, statements)
    r = run_cli("--build-account", BUILD, "--build-region", REGION, "--build-profile", reader, "--status")
    assert r.code == 0, r.out + r.err
    assert "deliveries unknown: the function's log could not be read (AccessDenied" in r.out
    assert BUCKET1 in r.out


def test_the_replication_role_cannot_write_into_a_look_alike_bucket_of_an_unregistered_account(
    two_developers: None,
) -> None:
    """Trust reaches registered developers only: a bucket named as this project names them, in an
    account nobody registered, whose own policy admits the central role, is still refused to it
    (the role's identity policy names the registered buckets; across accounts both sides must allow)."""

    import botocore.exceptions as bx

    from tests.conftest import look_alike_bucket, s3_as_function, stack_outputs

    role = stack_outputs("CrossAccountPrimary", "build")["ReplicationRoleArn"]
    look_alike = look_alike_bucket("dev3", role)
    as_role = s3_as_function(deployed_function())
    with pytest.raises(bx.ClientError, match="AccessDenied"):
        as_role.put_object(Bucket=look_alike, Key="app.zip", Body=b"not for you")
    as_role.put_object(Bucket=BUCKET1, Key="app.zip", Body=b"yours")  # a registered developer's: allowed
