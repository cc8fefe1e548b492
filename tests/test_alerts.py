"""A failed delivery raises an alarm and tells the platform team whom it failed and why, without
anyone asking: the deployed function's metrics and message, the central template's alarm and topic,
--alerts and --status, on the emulator that evaluates alarms and records what SNS would have mailed."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import (
    BUILD,
    CFN,
    DEV1,
    DEV2,
    REGION,
    cfn,
    deploy_central,
    onboard_args,
    run_cli,
    session,
    stack_outputs,
)
from xacct.sandbox.emulator import Emulator

BUILD_ARGS = ["--build-account", BUILD, "--build-region", REGION, "--build-profile", "build"]
CENTRAL_BUCKET = f"xacct-build-{BUILD}-{REGION}"
BUCKET1, BUCKET2 = f"xacct-build-{DEV1}-{REGION}", f"xacct-build-{DEV2}-{REGION}"
ALARM = "xacct-CrossAccountPrimary-deliveries"
OPS = "ops@example.com"
PERIOD = 2.0  # seconds an alarm period lasts here (AlertPeriod is 300 s on AWS)


def until(check: Callable[[], Any], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def state() -> str:
    alarms = session("build").client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    return str(alarms[0]["StateValue"]) if alarms else "none"


def confirm(aws: Emulator, address: str) -> None:
    """What the address's owner does: follow the link in SNS's confirmation mail."""
    [mail] = [m for m in aws.mail(address) if "Confirmation" in m.subject]
    token = re.search(r"Token=(\w+)", mail.body)
    assert token is not None, mail.body
    session("build").client("sns").confirm_subscription(TopicArn=mail.topic, Token=token.group(1))


def key_trusts_build_account(profile: str, trusted: bool, kept: dict[str, Any] | None = None) -> dict[str, Any]:
    """The developer's key policy with (as before) or without the statement admitting the build account."""
    kms = session(profile).client("kms")
    key = stack_outputs("CrossAccountPrimary", profile)["CMK"]
    policy = kept or json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    changed = policy if trusted else {**policy, "Statement": [s for s in policy["Statement"]
                                                              if s.get("Sid") != "TrustedAccountsUseKey"]}  # fmt: skip
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(changed))
    return policy


def build(key: str, body: bytes) -> None:
    session("build").client("s3").put_object(Bucket=CENTRAL_BUCKET, Key=key, Body=body)


def held(bucket: str, profile: str, key: str) -> bytes | None:
    try:
        return bytes(session(profile).client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception:
        return None


def registered_an_hour_ago() -> None:
    """The registry as it stands an hour after the last onboarding: the function no longer takes a
    refusal for grants still on their way (targets.py, RECENT_SECONDS), so it is a failure for good."""
    import datetime as dt

    from moto.ssm.models import ssm_backends

    for versions in ssm_backends[BUILD][REGION]._parameters.values():
        for version in versions:
            version.last_modified_date -= (
                dt.timedelta(hours=1) if isinstance(version.last_modified_date, dt.datetime) else 3600
            )


@pytest.fixture
def two_developers(aws: Emulator) -> None:
    aws.configure(alarm_period_seconds=PERIOD)
    deploy_central()
    for profile, account in (("dev1", DEV1), ("dev2", DEV2)):
        r = run_cli(*onboard_args(profile, account), "--yes")
        assert r.code == 0, r.err


def test_a_developer_whose_key_stops_trusting_raises_the_alarm_is_named_and_clears_once_delivered(
    two_developers: None, aws: Emulator
) -> None:
    r = run_cli(*BUILD_ARGS, "--alerts", OPS, "--yes")
    assert r.code == 0, r.out + r.err
    events = len(cfn("build").describe_stack_events(StackName="CrossAccountPrimary")["StackEvents"])
    again = run_cli(*BUILD_ARGS, "--alerts", OPS, "--yes")
    assert again.code == 0, again.err
    assert "nothing was changed" in again.out
    assert len(cfn("build").describe_stack_events(StackName="CrossAccountPrimary")["StackEvents"]) == events
    confirm(aws, OPS)

    registered_an_hour_ago()
    kept = key_trusts_build_account("dev2", trusted=False)
    build("app.zip", b"build 1")
    assert until(lambda: held(BUCKET1, "dev1", "app.zip")) == b"build 1"  # the first developer is unaffected
    assert until(lambda: state() == "ALARM"), state()  # at the evaluation after the failure's period
    [told] = [m for m in aws.mail(OPS) if "missed a build" in m.subject]
    assert f"developer {DEV2}, bucket {BUCKET2}:" in told.body
    assert f"s3://{CENTRAL_BUCKET}/app.zip: AccessDenied" in told.body
    assert "kms:GenerateDataKey" in told.body
    assert f"next: python onboard.py --verify --build-account {BUILD} --build-region {REGION} " in told.body
    assert f"--dev-account {DEV2} --dev-region {REGION}" in told.body
    assert BUCKET1 not in told.body
    assert any(m.subject.startswith("ALARM:") for m in aws.mail(OPS))

    # Periods as long as AWS's while --status reads: the alarm is not evaluated again within the minute.
    aws.configure(alarm_period_seconds=0)

    shown = json.loads(run_cli(*BUILD_ARGS, "--status", "--json").out)["alerts"]
    assert [(a["name"], a["state"]) for a in shown["alarms"]] == [(ALARM, "ALARM"), (ALARM[:-10] + "function", "OK")]
    assert shown["failing"] == [DEV2]
    assert shown["subscribers"] == [{"endpoint": OPS, "protocol": "email", "pending": False}]
    text = run_cli(*BUILD_ARGS, "--status").out
    assert f"{ALARM}: ALARM since" in text
    assert f"failing now: {DEV2} ({BUCKET2})" in text

    aws.configure(alarm_period_seconds=PERIOD)
    key_trusts_build_account("dev2", trusted=True, kept=kept)
    # Every link of the path is right again, and the last delivery still failed: --verify --all says so.
    checked = run_cli(*BUILD_ARGS, "--verify", "--all", "--json")
    assert checked.code == 3, checked.out + checked.err
    rows = {r["account"]: r for r in json.loads(checked.out)["developers"]}
    assert rows[DEV1]["state"] == "healthy"
    assert rows[DEV2]["state"] == "broken"
    assert [link["name"] for link in rows[DEV2]["links"] if not link["ok"]] == ["deliveries"]
    build("app.zip", b"build 2")
    assert until(lambda: held(BUCKET2, "dev2", "app.zip")) == b"build 2"
    assert until(lambda: state() == "OK"), state()
    assert any(m.subject.startswith("OK:") for m in aws.mail(OPS))
    assert json.loads(run_cli(*BUILD_ARGS, "--status", "--json").out)["alerts"]["failing"] == []


def test_an_earlier_versions_central_stack_gains_the_alarms_in_place_keeping_key_and_buckets(aws: Emulator) -> None:
    deploy_central(template=(CFN.parent / "tests" / "data" / "central-before-alerts.yaml").read_text())
    assert run_cli(*onboard_args(), "--yes").code == 0
    before = stack_outputs("CrossAccountPrimary", "build")
    assert "Alerts: none (the central stack predates them: --alerts EMAIL adds" in run_cli(*BUILD_ARGS, "--status").out
    planned = run_cli(*BUILD_ARGS, "--alerts", OPS, "--dry-run", "--json")
    assert planned.code == 0, planned.err
    plan = json.loads(planned.out)
    assert (plan["parameters"], plan["registry"]) == ({"AlertEmail": OPS}, "untouched")
    assert "upgraded to this version's, in place" in plan["upgrade"]
    assert state() == "none"  # a dry run changed nothing
    r = run_cli(*BUILD_ARGS, "--alerts", OPS, "--yes")
    assert r.code == 0, r.out + r.err
    assert "upgraded to this version's, in place" in r.out
    after = stack_outputs("CrossAccountPrimary", "build")
    assert {k: after[k] for k in ("CMK", "BuildBucket", "PipelineBucket")} == {
        k: before[k] for k in ("CMK", "BuildBucket", "PipelineBucket")
    }
    assert after["AlertTopic"].startswith(f"arn:aws:sns:{REGION}:{BUILD}:")
    assert state() == "INSUFFICIENT_DATA"
    params = {p["ParameterKey"]: p["ParameterValue"] for p in
              cfn("build").describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]["Parameters"]}  # fmt: skip
    assert params["ReplicationBucketList"] == BUCKET1
    assert params["AlertEmail"] == OPS
    assert [m.subject for m in aws.mail(OPS)] == ["AWS Notification - Subscription Confirmation"]
    # A topic of the team's own (chat, paging) is told beside the stack's: both alarms notify it.
    paging = session("build").client("sns").create_topic(Name="paging")["TopicArn"]
    assert run_cli(*BUILD_ARGS, "--alerts", paging, "--yes").code == 0
    alarms = session("build").client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    assert set(alarms[0]["AlarmActions"]) == {after["AlertTopic"], paging}
    assert stack_outputs("CrossAccountPrimary", "build")["CMK"] == before["CMK"]


def test_alerts_on_the_seed_projects_stack_says_adopt_first(aws: Emulator) -> None:
    from tests import seed

    seed.deploy_central()
    r = run_cli(*BUILD_ARGS, "--alerts", OPS, "--yes")
    assert r.code == 2, r.out + r.err
    assert "--adopt" in r.err
    assert "Nothing was changed" in r.err


def test_alerts_refuses_what_is_neither_an_address_nor_a_topic(aws: Emulator) -> None:
    r = run_cli(*BUILD_ARGS, "--alerts", "ops-at-example", "--yes")
    assert r.code == 2
    assert "neither an e-mail address nor an SNS topic ARN" in r.err
    sandbox = run_cli("--sandbox", "--alerts", "ops@example", "--yes")  # refused before its emulator starts
    assert sandbox.code == 2
    assert "neither an e-mail address" in sandbox.err
    assert "sandbox: starting" not in sandbox.err


def test_each_developers_copies_are_counted_and_only_lasting_failures_are_told() -> None:
    from xacct.function.alerts import Tally, message

    tally = Tally()
    refused = {"owner": DEV2, "reason": "AccessDenied: kms:GenerateDataKey", "permanent": True}
    slow = {"owner": DEV1, "reason": "SlowDown: later", "permanent": False}
    tally.add("s3://b/a.zip", {"delivered": [BUCKET1], "skipped": [], "failed": {BUCKET2: refused}})
    tally.add("s3://b/b.zip", {"delivered": [], "skipped": [BUCKET1, BUCKET2], "stale": [BUCKET2], "failed": {}})
    tally.add("s3://b/c.zip", {"delivered": [], "skipped": [], "failed": {BUCKET1: slow, "": refused}})
    line = tally.metrics("Central")
    assert {m: line[m] for m in ("Delivered", "AlreadyHeld", "Stale", "FailedDeliveries", "RetriedDeliveries")} == {
        "Delivered": 1, "AlreadyHeld": 1, "Stale": 1, "FailedDeliveries": 1, "RetriedDeliveries": 1}  # fmt: skip
    assert line["developers"] == {BUCKET1: [1, 1, 0, 0, 1], BUCKET2: [0, 0, 1, 1, 0]}
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stack"]]
    assert [f["bucket"] for f in tally.failures] == [BUCKET2]
    subject, body = message(tally.failures, "Central", BUILD, REGION)
    assert len(subject) <= 100
    assert f"developer {DEV2}, bucket {BUCKET2}:\n  s3://b/a.zip: AccessDenied: kms:GenerateDataKey" in body
    assert f"--dev-account {DEV2} --dev-region {REGION}" in body
    assert BUCKET1 not in body


def test_alerts_targets_are_an_address_a_topic_or_none() -> None:
    from xacct.core import alerts

    assert alerts.wanted("ops@example.com") == {"AlertEmail": "ops@example.com"}
    topic = f"arn:aws:sns:{REGION}:{BUILD}:paging"
    assert alerts.wanted(topic) == {"AlertTopicArn": topic}
    assert alerts.wanted("None") == {"AlertEmail": "", "AlertTopicArn": ""}
    change = alerts.change({"AlertEmail": "old@example.com", "AlertTopicArn": topic}, "ops@example.com")
    assert change.lines() == ["AlertEmail: old@example.com -> ops@example.com"]
    assert not alerts.change({"AlertEmail": "ops@example.com"}, "ops@example.com").changes_anything
