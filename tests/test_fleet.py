"""Many developers from one file (--from): checked before any write, one central change set for
the batch, a failed developer left out and finished by a re-run, the 4,096-byte limit for the
whole batch. Against the emulator behind the CloudFormation latency double (calls counted)."""

from __future__ import annotations

import gc
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cfn_double import CloudFormationDouble
from tests.conftest import BUILD, DEV1, DEV2, DEV3, DEV4, REGION, deploy_central, fake_entry, run_cli, session, stack
from tests.conftest import stack_parameters as parameters
from xacct.core import capacity, fleet
from xacct.core import registry as reg
from xacct.errors import InvalidInput

DEVS = [("dev1", DEV1), ("dev2", DEV2), ("dev3", DEV3), ("dev4", DEV4)]
TWO = [fake_entry(1), fake_entry(2)]


def team(tmp_path: Path, developers: list[dict[str, str]]) -> Path:
    lines = ["build_profile: build", f"build_region: {REGION}", "developers:"]
    for d in developers:
        lines.append("  - " + "\n    ".join(f"{k}: '{v}'" for k, v in d.items()))
    path = tmp_path / "team.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def buckets() -> list[str]:
    return list(reg.parse(parameters("CrossAccountPrimary", "build")).buckets)


def own(account: str) -> str:
    return f"xacct-build-{account}-{REGION}"


def test_four_developers_one_central_change_set_in_file_order(slow_aws: CloudFormationDouble, tmp_path: Path) -> None:
    deploy_central(TWO)
    path = team(tmp_path, [{"dev_profile": p} for p, _ in DEVS])
    r = run_cli("--from", str(path), "--yes")
    assert r.code == 0, r.err
    assert "Onboarded 4 of 4 developers" in r.out
    assert buckets() == [TWO[0][0], TWO[1][0], *(own(a) for _, a in DEVS)]
    central_change_sets = [c for c in slow_aws.calls if c.who == BUILD and c.action == "CreateChangeSet"]
    assert len(central_change_sets) == 1
    for profile, _ in DEVS:
        assert stack("CrossAccountDeveloper", profile) is not None
    # The central update is what the batch waits for: the others' second stacks start behind its change set.
    second = [c for c in slow_aws.calls if c.action == "CreateStack" and c.stack != "CrossAccountPrimary"]
    assert len(second) == 2 * len(DEVS)
    assert min(c.at for c in second) >= central_change_sets[0].at
    # The same command again: nothing added twice, nothing written centrally.
    calls = len(slow_aws.calls)
    again = run_cli("--from", str(path), "--yes")
    assert again.code == 0, again.err
    assert buckets() == [TWO[0][0], TWO[1][0], *(own(a) for _, a in DEVS)]
    assert not [c for c in slow_aws.calls[calls:] if c.action in ("CreateChangeSet", "CreateStack", "UpdateStack")]


def test_a_profile_reaching_the_wrong_account_refuses_the_batch_before_any_write(aws: object, tmp_path: Path) -> None:
    deploy_central(TWO)
    before = parameters("CrossAccountPrimary", "build")
    path = team(
        tmp_path,
        [{"dev_profile": "dev1"}, {"dev_profile": "dev3", "dev_account": DEV2}, {"dev_profile": "dev1"}],
    )
    r = run_cli("--from", str(path), "--yes")
    assert r.code == 2
    assert (
        f"developer 2 (dev3, {DEV2}): profile 'dev3' reaches account {DEV3}, not the developer account {DEV2}" in r.err
    )
    assert "developer 3 (dev1" in r.err
    assert "the same account and region as developer 1" in r.err
    assert "2 of 3 developers refused before any write; nothing was changed" in r.err
    assert stack("CrossAccountPrimary", "dev1") is None
    assert parameters("CrossAccountPrimary", "build") == before
    assert gc.isenabled()  # paused while the accounts were read, and running again after the refusal


def test_a_developer_whose_primary_fails_is_left_out_and_a_rerun_completes_it(
    slow_aws: CloudFormationDouble, tmp_path: Path
) -> None:
    deploy_central(TWO)
    path = team(tmp_path, [{"dev_profile": p} for p, _ in DEVS])
    # The first CrossAccountPrimary to start is a developer's: the central one waits for them all.
    slow_aws.fail_next("CrossAccountPrimary", "BuildBucket", "AWS::S3::Bucket", "Rate exceeded")
    r = run_cli("--from", str(path), "--yes")
    assert r.code == 1
    assert "Onboarded 3 of 4 developers" in r.out
    failed = re.search(
        r"failed developer \d \(dev\d, (\d{12})\), left out of the central lists: .*BuildBucket", r.out, re.S
    )
    assert failed, r.out
    left_out = failed.group(1)
    registered = [own(a) for _, a in DEVS if a != left_out]
    assert buckets() == [TWO[0][0], TWO[1][0], *registered]  # the others, in file order
    assert "run the same command again" in r.out
    # On AWS the failed create's rollback deletes its buckets (RetainExceptOnCreate); the latency
    # double only reports the rollback, moto having created them: delete them as AWS would have.
    s3 = session(next(p for p, a in DEVS if a == left_out)).client("s3")
    for kind in ("build", "pipeline"):
        s3.delete_bucket(Bucket=f"xacct-{kind}-{left_out}-{REGION}")
    again = run_cli("--from", str(path), "--yes")
    assert again.code == 0, again.err
    assert buckets() == [TWO[0][0], TWO[1][0], *registered, own(left_out)]


def test_a_developer_whose_other_stack_fails_is_registered_reported_and_finished_by_a_rerun(
    slow_aws: CloudFormationDouble, tmp_path: Path
) -> None:
    """Its bucket and key exist and admit the central role (the primary deployed), so it is
    registered beside its other stacks, as a single onboarding does; the failure is its own."""
    deploy_central(TWO)
    path = team(tmp_path, [{"dev_profile": "dev1"}, {"dev_profile": "dev2"}])
    slow_aws.fail_next("CrossAccountDeploy", "PipelineDeployRole", "AWS::IAM::Role", "Rate exceeded")
    r = run_cli("--from", str(path), "--yes")
    assert r.code == 1
    failed = re.search(
        r"failed developer \d \(dev\d, (\d{12})\), registered .*PipelineDeployRole.*Rate exceeded", r.out, re.S
    )
    assert failed, r.out
    lists = [TWO[0][0], TWO[1][0], own(DEV1), own(DEV2)]
    assert buckets() == lists
    again = run_cli("--from", str(path), "--yes")
    assert again.code == 0, again.err
    assert buckets() == lists  # nobody added twice
    assert stack("CrossAccountDeploy", "dev1" if failed.group(1) == DEV1 else "dev2") is not None


def test_a_batch_over_the_central_stacks_capacity_is_refused_before_any_write(aws: object, tmp_path: Path) -> None:
    # Registered developers such that two more fit (in the last overflow parameter) and a third does not.
    registry = reg.Registry(False)
    for n in range(1, capacity.capacity(registry).fits - 1):
        registry = reg.merge(registry, reg.Entry(*fake_entry(n))).after
    assert capacity.capacity(registry).fits == len(registry.entries) + 2
    deploy_central(raw=reg.render(registry))
    before = parameters("CrossAccountPrimary", "build")
    r = run_cli("--from", str(team(tmp_path, [{"dev_profile": p} for p, _ in DEVS])), "--yes")
    assert r.code == 2
    assert "every overflow parameter (ReplicationMore01 to ReplicationMore10) would be full" in r.err
    assert "the batch of 4 would register" in r.err
    assert "only the first 2 of the batch fit" in r.err
    assert stack("CrossAccountPrimary", "dev1") is None
    assert parameters("CrossAccountPrimary", "build") == before


# ---- the pure core -------------------------------------------------------------------------

entries = st.lists(st.integers(min_value=1, max_value=30).map(lambda n: reg.Entry(*fake_entry(n))), max_size=12)


@given(entries, entries)
def test_a_batch_keeps_every_entry_and_adds_each_once_in_order(
    existing: list[reg.Entry], batch: list[reg.Entry]
) -> None:
    unique = list(dict.fromkeys(existing))
    before = reg.Registry(bool(unique), tuple(unique))
    after = fleet.merge_all(before, batch).after
    assert after.entries[: len(unique)] == tuple(unique)  # nobody moved or dropped
    new = [e for e in dict.fromkeys(batch) if e not in unique]
    assert after.entries[len(unique) :] == tuple(new)  # in file order, once each
    assert fleet.merge_all(after, batch).after == after  # a re-run adds nothing


def test_the_file_is_refused_with_a_reason() -> None:
    with pytest.raises(InvalidInput, match="developers: must be a list"):
        fleet.parse({"build_profile": "b"}, "team.yaml")
    with pytest.raises(InvalidInput, match="developer 2: unknown keys build_profile"):
        fleet.parse({"developers": [{"dev_profile": "a"}, {"build_profile": "x"}]}, "team.yaml")
    parsed = fleet.parse({"build_profile": "b", "dev_region": "eu-west-1", "developers": [{"dev_profile": "a"}]}, "f")
    assert parsed.shared.dev_region == "eu-west-1"
    assert parsed.developers[0].dev_profile == "a"


# ---- a plan reviewed now, applied later -----------------------------------------------------


def edit_central_by_hand(**values: str) -> None:
    """What a person does in the console: change some parameters, every other one as it was."""
    from tests.conftest import cfn

    current = {**parameters("CrossAccountPrimary", "build"), **values}
    cfn("build").update_stack(
        StackName="CrossAccountPrimary",
        UsePreviousTemplate=True,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in current.items()],
        Capabilities=["CAPABILITY_IAM"],
    )


def test_a_saved_plan_is_applied_as_reviewed_or_refused_when_stale(aws: object, tmp_path: Path) -> None:
    from tests.conftest import onboard_args

    deploy_central(TWO)
    plan = tmp_path / "plan.json"
    r = run_cli(*onboard_args(), "--dry-run", "--out", str(plan))
    assert r.code == 0, r.err
    assert stack("CrossAccountPrimary", "dev1") is None
    # Someone registers a developer by hand between the review and the apply.
    third = fake_entry(3)
    edit_central_by_hand(
        ReplicationBucketList=",".join(e[0] for e in [*TWO, third]),
        ReplicationBucketStarArns=",".join(e[1] for e in [*TWO, third]),
        ReplicationCMKs=",".join(e[2] for e in [*TWO, third]),
    )
    edited = parameters("CrossAccountPrimary", "build")
    r = run_cli("--apply", str(plan))  # no terminal, no --yes: the review was the approval
    assert r.code == 2
    assert "out of date: changed since it was made: central.parameters.ReplicationBucketList" in r.err
    assert stack("CrossAccountPrimary", "dev1") is None
    assert parameters("CrossAccountPrimary", "build") == edited
    # A plan made now is current: applied as it was reviewed.
    assert run_cli(*onboard_args(), "--dry-run", "--out", str(plan)).code == 0
    r = run_cli("--apply", str(plan))
    assert r.code == 0, r.err
    assert buckets() == [TWO[0][0], TWO[1][0], third[0], own(DEV1)]


def test_a_saved_plan_whose_plan_section_was_edited_is_refused_naming_where(aws: object, tmp_path: Path) -> None:
    """The README's promise: --apply applies exactly the plan that was reviewed, or refuses."""
    import json

    from tests.conftest import onboard_args

    deploy_central(TWO)
    single, fleet = tmp_path / "plan.json", tmp_path / "fleet.json"
    assert run_cli(*onboard_args(), "--dry-run", "--out", str(single)).code == 0
    path = team(tmp_path, [{"dev_profile": "dev1"}, {"dev_profile": "dev2"}])
    assert run_cli("--from", str(path), "--dry-run", "--out", str(fleet)).code == 0
    for saved in (single, fleet):
        document = json.loads(saved.read_text())
        document["plan"]["edited"] = "by hand"
        saved.write_text(json.dumps(document))
        r = run_cli("--apply", str(saved))
        assert r.code == 2, r.out + r.err
        assert f"{saved}: its plan differs from what its own inputs give, at plan.edited" in r.err
        assert "nothing was changed" in r.err
    assert stack("CrossAccountPrimary", "dev1") is None
    assert buckets() == [TWO[0][0], TWO[1][0]]


def test_a_fleet_plan_for_a_pull_request_then_applied(aws: object, tmp_path: Path) -> None:
    deploy_central(TWO)
    path = team(tmp_path, [{"dev_profile": "dev1"}, {"dev_profile": "dev2"}])
    plan = tmp_path / "plan.json"
    r = run_cli("--from", str(path), "--dry-run", "--markdown", "--out", str(plan))
    assert r.code == 0, r.err
    assert "| Developer account | Region | Bucket | Stacks |" in r.out
    assert f"| {DEV2} | {REGION} | `{own(DEV2)}` |" in r.out
    assert f"| 4 | `{own(DEV2)}` | added |" in r.out
    r = run_cli("--apply", str(plan))
    assert r.code == 0, r.err
    assert buckets() == [TWO[0][0], TWO[1][0], own(DEV1), own(DEV2)]
    # Applied once, the same plan is out of date: the stacks it was made from changed.
    again = run_cli("--apply", str(plan))
    assert again.code == 2
    assert "out of date" in again.err


def test_a_file_that_is_not_a_plan_is_refused(aws: object, tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"answers": []}')
    r = run_cli("--apply", str(bad))
    assert r.code == 2
    assert "is not a plan saved by xacct" in r.err


def test_without_a_terminal_progress_is_one_line_per_finished_step(aws: object, tmp_path: Path) -> None:
    deploy_central(TWO)
    r = run_cli("--from", str(team(tmp_path, [{"dev_profile": "dev1"}, {"dev_profile": "dev2"}])), "--yes")
    assert r.code == 0, r.err
    assert "CREATE_IN_PROGRESS" not in r.err  # steps that start are not lines; steps that end are
    for account in (DEV1, DEV2):
        assert f"{account}:CrossAccountPrimary (stack) CREATE_COMPLETE" in r.err
        assert re.search(rf"{account} us-east-1 stacks ready", r.err)
    assert "central stack 2 added (a batch of 2)" in r.err


def test_the_live_view_of_twenty_developers_is_one_line_each_and_a_total() -> None:
    import io

    from rich.console import Console

    from xacct.terminal.fleet_progress import FleetLive

    accounts = [f"{100000000000 + n}" for n in range(20)]
    screen = Console(file=io.StringIO(), width=80, force_terminal=True)
    view = FleetLive(screen, {a: f"{n:>3} {a} eu-central-1" for n, a in enumerate(accounts, 1)})
    for a in accounts[:12]:
        view.event(f"{a}:CrossAccountDeploy", {"ResourceStatus": "CREATE_IN_PROGRESS", "LogicalResourceId":
                   "PipelineDeployRole", "ResourceType": "AWS::IAM::Role"})  # fmt: skip
    for a in accounts[:3]:
        view.finished(a, True, "stacks ready")
    view.finished(accounts[3], False, "failed: Rate exceeded")
    out = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    out.print(view._render())
    lines = out.file.getvalue().rstrip("\n").split("\n")  # type: ignore[attr-defined]
    assert len(lines) == 22  # 20 developers, the central stack, the total
    assert all(len(line) <= 80 for line in lines)
    assert "CrossAccountDeploy CREATE_IN_PROGRESS" in lines[5]
    assert lines[-1].startswith("3 done, 1 failed, 8 running, 8 waiting · ")


def test_many_developers_out_with_one_central_change_set(slow_aws: CloudFormationDouble, tmp_path: Path) -> None:
    deploy_central(TWO)
    three = team(tmp_path, [{"dev_profile": p} for p, _ in DEVS[:3]])
    assert run_cli("--from", str(three), "--yes").code == 0
    two = tmp_path / "two.yaml"
    two.write_text(three.read_text().replace("  - dev_profile: 'dev2'\n", ""))
    calls = len(slow_aws.calls)
    r = run_cli("--from", str(two), "--remove", "--yes")
    assert r.code == 0, r.err
    assert "Removed 2 of 2 developers" in r.out
    assert buckets() == [TWO[0][0], TWO[1][0], own(DEV2)]  # the others, in their order
    central = [c for c in slow_aws.calls[calls:] if c.who == BUILD and c.action == "CreateChangeSet"]
    assert len(central) == 1
    for profile in ("dev1", "dev3"):
        assert stack("CrossAccountDeveloper", profile) is None
        assert stack("CrossAccountPrimary", profile) is not None  # the developer's own pipeline stays
    assert stack("CrossAccountDeveloper", "dev2") is not None
    again = run_cli("--from", str(two), "--remove", "--yes")
    assert again.code == 0, again.err
    assert buckets() == [TWO[0][0], TWO[1][0], own(DEV2)]
    purge = run_cli("--from", str(two), "--remove", "--purge", "--yes")
    assert purge.code == 0, purge.err
    for profile in ("dev1", "dev3"):
        assert stack("CrossAccountPrimary", profile) is None


@given(entries, entries, st.data())
def test_the_check_after_a_batch_update_finds_any_entry_lost_moved_or_doubled(
    existing: list[reg.Entry], batch: list[reg.Entry], data: st.DataObject
) -> None:
    from xacct.aws.central import verify

    unique = list(dict.fromkeys(existing))
    before = reg.Registry(bool(unique), tuple(unique))
    change = fleet.merge_all(before, batch)
    if data.draw(st.booleans()) and unique:  # or a batch taking developers out
        out = data.draw(st.lists(st.sampled_from(unique), unique=True))
        registry = before
        for e in out:
            registry = reg.remove(registry, bucket=e.bucket).after
        change = reg.Change(before, registry, "removed", "batch out")
    assert verify(before, change, change.after) == []
    after = list(change.after.entries)
    if after:
        n = data.draw(st.integers(0, len(after) - 1))
        dropped = reg.Registry(True, tuple(after[:n] + after[n + 1 :]))
        assert any("missing" in p for p in verify(before, change, dropped))
        doubled = reg.Registry(True, (*after, after[n]))
        assert any("times" in p for p in verify(before, change, doubled))
    if len(set(after)) > 1:
        moved = reg.Registry(True, tuple(reversed(after)))
        assert any("order" in p for p in verify(before, change, moved))
    gone = [e for e in unique if e not in after]
    if gone:
        back = reg.Registry(True, (*after, gone[0]))
        assert any("still registered" in p for p in verify(before, change, back))


def test_a_batch_says_what_it_adds_and_what_was_already_there() -> None:
    first, second = (reg.Entry(b, s, k) for b, s, k in TWO)
    before = reg.Registry(True, (first,))
    assert fleet.merge_all(before, [first, second]).message == "1 added, 1 already registered (a batch of 2)"


def test_a_stack_with_nothing_to_do_reads_up_to_date() -> None:
    import io

    from rich.console import Console

    from xacct.core.plan import StackStep
    from xacct.terminal.output import Output
    from xacct.terminal.render import stacks_line

    out = io.StringIO()
    o = Output(Console(file=out, width=80, no_color=True), Console(file=io.StringIO(), width=80))
    stacks_line(o, "  1  ", [StackStep("CrossAccountPrimary", "none"), StackStep("CrossAccountDeploy", "create")], 5)
    assert "CrossAccountPrimary up to date" in out.getvalue()
    assert " none" not in out.getvalue()
