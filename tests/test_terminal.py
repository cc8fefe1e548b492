"""The tool in a real pseudo-terminal against the emulator, as a person runs it, at 80 and 120
columns: what the review shows, what Ctrl-C and declining leave, and what is asked again."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pexpect
import pyte
import pytest

from tests.conftest import (
    BUILD,
    DEV1,
    DEV2,
    REGION,
    ROOT,
    cfn,
    deploy_central,
    fake_entry,
    onboard_args,
    run_cli,
    session,
    stack,
    stack_parameters,
)
from xacct.core import registry as reg
from xacct.sandbox.emulator import Emulator

FLAGS = [*onboard_args(), "--central-stack", "CrossAccountPrimary"]
ROWS = 50
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def spawn(
    *args: str, width: int = 120, command: list[str] | None = None, env_extra: dict[str, str] | None = None
) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(width), "LINES": str(ROWS), **(env_extra or {})}
    argv = command or [sys.executable, str(ROOT / "onboard.py"), *args]
    child = pexpect.spawn(argv[0], argv[1:], env=env, encoding="utf-8", timeout=90, dimensions=(ROWS, width))
    child.logfile_read = io.StringIO()
    child.columns = width
    return child


def screen(child: pexpect.spawn) -> list[str]:
    """Every line as the person at the terminal sees it so far (scrolled off or still on screen):
    what the tool wrote, played on a VT100 screen, spinners and erased lines included."""
    width = child.columns
    vt = pyte.HistoryScreen(width, ROWS, history=5000, ratio=0.5)
    pyte.Stream(vt).feed(child.logfile_read.getvalue())
    rows = [*vt.history.top, *(vt.buffer[y] for y in range(vt.lines))]
    lines = ["".join(row[x].data for x in range(width)).rstrip() for row in rows]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def shown(text: str) -> list[str]:
    """Output read without a screen: colours and cursor moves removed."""
    return [line.rstrip() for line in re.split(r"\r\n|\r|\n", ANSI.sub("", text))]


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0))


def central_entries() -> list[reg.Entry]:
    return list(reg.parse(stack_parameters("CrossAccountPrimary", "build")).entries)


@pytest.mark.parametrize("width", [80, 120])
def test_the_review_shows_every_value_whole_and_every_change_set_with_its_account(aws: Emulator, width: int) -> None:
    deploy_central([fake_entry(1), fake_entry(2)])
    child = spawn(*FLAGS, width=width)
    child.expect("Apply these changes")
    lines = screen(child)
    text = "\n".join(lines)
    assert "checking profile" not in text  # the spinners are gone once answered
    for bucket, _, key in (fake_entry(1), fake_entry(2)):
        assert any(key in line for line in lines), key  # whole, on one line
        assert any(bucket in line for line in lines), bucket
        # The key belongs to the bucket: never printed to its left.
        bucket_at = next(line.index(bucket) for line in lines if bucket in line)
        key_at = next(line.index(key) for line in lines if key in line)
        assert key_at >= bucket_at, (bucket_at, key_at)
    # The answers were all given: shown once, nothing asked.
    assert f"Build account     {BUILD}  profile build" in text
    # Every stack's changes, headed by the account and region it is in; the central one included.
    for header in (
        f"developer {DEV1} {REGION}  CrossAccountPrimary: create, change set",
        f"developer {DEV1} {REGION}  CrossAccountDeploy: create",
        f"developer {DEV1} {REGION}  CrossAccountDeveloper: create",
        f"build {BUILD} {REGION}  CrossAccountPrimary (central): update, change set",
    ):
        assert header in text, header
    assert re.search(r"Add\s+ReplicationRole\s+AWS::IAM::Role \(IAM/policy\)", text)
    # Last before the question: what the stacks will grant, the build account's write and key use included.
    granted = text.split("What CloudFormation will do", 1)[1].split("Permissions these stacks grant and withdraw", 1)[1]
    assert f"Allow AWS: arn:aws:iam::{BUILD}:root" in granted
    assert "s3:PutObject" in granted
    assert re.search(r"Modify\s+\w+\s+AWS::", text.split("(central)")[1])
    # Right above the question, after some two hundred lines, the whole in one line (as terraform's "Plan:").
    flat = " ".join(text.split())
    total = re.search(
        r"Plan: 3 stacks to create, 1 to update, 0 to delete, in 2 accounts \((\d+) resources to add, (\d+) to "
        r"change, 0 to remove\) \? Apply these changes",
        flat,
    )
    assert total, flat[-400:]
    assert int(total.group(1)) > 10
    assert int(total.group(2)) >= 1
    child.send("y")
    assert finish(child) == 0
    end = "\n".join(screen(child))
    assert "Onboarded in" in end
    assert "arn:aws:cloudformation:" in end
    assert "console.aws.amazon.com/cloudformation" in end
    # A URL is written whole on a line of its own (the terminal's wrap keeps it one line to copy),
    # and what happened and what to run next come last, below every ARN and URL.
    written = shown(child.logfile_read.getvalue())
    urls = [line.strip() for line in written if "console.aws.amazon.com" in line]
    assert urls
    assert all(re.fullmatch(r"https://\S+stackId=arn%3Aaws%3Acloudformation\S+%2F[0-9a-f-]{36}", u) for u in urls), urls
    assert end.rindex("Onboarded in") > end.rindex("console.aws.amazon.com")
    assert len(central_entries()) == 3


@pytest.mark.parametrize("answer", ["n", "ctrl-c", "ctrl-d"])
def test_declining_or_ctrl_c_at_the_confirmation_leaves_nothing(aws: Emulator, answer: str) -> None:
    """ "n" declines (exit 0); Ctrl-C and ^D cancel (exit 130): either way the change sets under
    review are deleted, and a new stack is not left in REVIEW_IN_PROGRESS."""
    deploy_central([fake_entry(1)])
    before = stack_parameters("CrossAccountPrimary", "build")
    child = spawn(*FLAGS, width=80)
    child.expect("Apply these changes")
    if answer == "n":
        child.send("n")
        child.expect("Declined: nothing was changed.")
        assert finish(child) == 0
    else:
        child.sendintr() if answer == "ctrl-c" else child.sendcontrol("d")
        child.expect(r"the change sets under review were\s+deleted, nothing was changed")
        assert finish(child) == 130
        assert "Traceback" not in child.before
    assert stack("CrossAccountPrimary", "dev1") is None  # no stack left in REVIEW_IN_PROGRESS
    assert cfn("build").list_change_sets(StackName="CrossAccountPrimary")["Summaries"] == []
    assert stack_parameters("CrossAccountPrimary", "build") == before


def test_purge_asks_for_the_account_id_before_anything_changes(aws: Emulator) -> None:
    deploy_central([fake_entry(1)])
    assert run_cli(*FLAGS, "--yes").code == 0
    bucket = central_entries()[1].bucket
    session("dev1").client("s3").put_object(Bucket=bucket, Key="a/artifact.zip", Body=b"x")
    registered = stack_parameters("CrossAccountPrimary", "build")

    child = spawn(*FLAGS, "--remove", "--purge", width=80)
    child.expect("Type the account id")
    plan = "\n".join(screen(child))
    assert re.search(rf"purge: {bucket} holds 1 object versions,\s+deleted\s+with\s+it", plan)  # in the plan
    # At the prompt, nothing has been written yet.
    assert stack_parameters("CrossAccountPrimary", "build") == registered
    assert stack("CrossAccountPrimary", "dev1") is not None
    child.sendline("wrong")
    child.expect("Not confirmed: nothing was changed.")
    assert finish(child) == 0
    assert stack_parameters("CrossAccountPrimary", "build") == registered
    assert cfn("dev1").list_change_sets(StackName="CrossAccountPrimary")["Summaries"] == []
    assert session("dev1").client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 1


def test_a_region_aws_does_not_have_is_asked_again(aws: Emulator) -> None:
    deploy_central()
    flags = list(FLAGS)
    i = flags.index("--dev-region")
    del flags[i : i + 2]
    child = spawn(*flags, "--dry-run", width=80)
    child.expect("Region of the developer stacks")
    child.send("\x7f" * 20 + "us-east-9\r")
    child.expect("not a region AWS has")
    child.send("\x7f" + "1\r")
    child.expect("Your answers")
    child.send("\r")
    child.expect("dry run: nothing was changed")
    assert finish(child) == 0


def test_only_stdin_decides_whether_to_ask(aws: Emulator, tmp_path: Path) -> None:
    deploy_central()
    # `| tee log`: stdout is a pipe, stdin the terminal; the questions still reach the person.
    flags = list(FLAGS)
    i = flags.index("--dev-region")
    del flags[i : i + 2]
    log = tmp_path / "out.txt"
    argv = " ".join([sys.executable, str(ROOT / "onboard.py"), *flags, "--dry-run"])
    child = spawn(command=["/bin/bash", "-c", f"{argv} | tee {log}"], width=100)
    child.expect("Region of the developer stacks")
    child.send("\r")
    child.expect("Your answers")
    child.send("\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "dry run: nothing was changed" in log.read_text()


def test_yes_on_a_terminal_never_asks(aws: Emulator) -> None:
    deploy_central([fake_entry(1)])
    child = spawn("--build-profile", "build", "--dev-profile", "dev1", "--yes", width=100)
    assert finish(child) == 0, child.before
    assert len(central_entries()) == 2


def test_ctrl_c_at_the_first_prompt_exits_130_without_a_traceback(aws: Emulator) -> None:
    child = spawn()
    child.expect("Profile for the build account")
    child.sendintr()
    child.expect(pexpect.EOF)
    output = child.before
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in output
    assert "interrupted" in output
    assert "error:" not in output  # the person stopped it: said as what it left, not as a failure


@pytest.mark.parametrize("env_extra", [{"NO_COLOR": "1"}, {"COLUMNS": "60"}, {"COLUMNS": "100"}])
def test_no_color_and_narrow_terminals(aws: Emulator, env_extra: dict[str, str]) -> None:
    deploy_central([fake_entry(1)])
    width = int(env_extra.get("COLUMNS", "120"))
    child = spawn(*FLAGS, "--dry-run", width=width, env_extra=env_extra)
    child.expect("dry run: nothing was changed")
    text = child.before
    assert finish(child) == 0
    if "NO_COLOR" in env_extra:
        # Styles (bold, italic) may stay; colours (30-38, 90-97 foreground) may not.
        assert not re.search(r"\x1b\[(?:\d+;)*(?:3[0-8]|9[0-7])[;m]", text)
    else:
        lines = screen(child)
        assert "CrossAccountDeveloper" in "\n".join(lines)
        # Every line ended by the tool, never by the terminal: no line fills the screen's width
        # and runs on, except one that fits it exactly.
        assert all(len(line) <= width for line in shown(text)), [x for x in shown(text) if len(x) > width]


def test_from_on_a_terminal_shows_every_developer_and_the_central_lists_before_it_asks(
    aws: Emulator, tmp_path: Path
) -> None:
    deploy_central([fake_entry(1)])
    before = stack_parameters("CrossAccountPrimary", "build")
    path = tmp_path / "team.yaml"
    path.write_text(
        f"build_profile: build\nbuild_region: {REGION}\ndevelopers:\n  - dev_profile: dev1\n  - dev_profile: dev2\n"
    )
    child = spawn("--from", str(path), width=80)
    child.expect("Onboard these 2 developers")
    text = "\n".join(screen(child))
    for account in (DEV1, DEV2):
        assert f"{account} {REGION}" in text, account
    assert "Central replication lists" in text
    assert f"xacct-build-{DEV2}-{REGION}" in text
    assert text.index("Central replication lists") < text.index("Onboard these 2 developers")
    child.send("n")
    child.expect("Declined: nothing was changed.")
    assert finish(child) == 0
    assert stack_parameters("CrossAccountPrimary", "build") == before
    assert stack("CrossAccountPrimary", "dev1") is None
    assert stack("CrossAccountPrimary", "dev2") is None


def test_a_central_stack_the_build_account_lacks_is_said_and_asked_again_in_place(aws: Emulator) -> None:
    deploy_central()
    flags = list(FLAGS)
    i = flags.index("--central-stack")
    del flags[i : i + 2]
    child = spawn(*flags, "--dry-run", "--guided", width=80)
    for question in ("Profile for the build account", "Region of the central stack"):
        child.expect(question)
        child.send("\r")  # as given
    child.expect("Central stack name")
    child.send("CrossAcountPrimary\r")  # mistyped
    child.expect("no stack CrossAcountPrimary in the build account")
    child.expect("Central stack name")
    child.send("CrossAccountPrimary\r")
    for question in ("Profile for the developer account", "Region of the developer stacks"):
        child.expect(question)
        child.send("\r")
    child.expect("Your answers")
    child.send("\r")
    child.expect("dry run: nothing was changed")
    assert finish(child) == 0


def test_a_batch_confirmation_has_its_one_line_total_right_above_it(aws: Emulator, tmp_path: Path) -> None:
    deploy_central([fake_entry(1)])
    team = tmp_path / "team.yaml"
    team.write_text(
        f"build_profile: build\nbuild_region: {REGION}\ndevelopers:\n  - dev_profile: dev1\n  - dev_profile: dev2\n"
    )
    child = spawn("--from", str(team), width=100)
    child.expect(r"Onboard these 2 developers\?")
    flat = " ".join(" ".join(screen(child)).split())
    assert re.search(
        r"Plan: 2 developers in 2 accounts: 6 stacks to create, 0 to update, 0 to delete; central: 2 added to the "
        r"lists in one change set \? Onboard",
        flat,
    ), flat[-400:]
    child.send("n")
    assert finish(child) == 0
    assert len(central_entries()) == 1  # declined: nothing changed


def test_the_picker_offers_no_profile_that_only_holds_keys_for_others(aws: Emulator) -> None:
    """The emulator's profiles assume their roles with one pair of keys, as an identity account's
    user's would; that profile reaches the identity's own account, where nothing of the tool's is.
    The picker offers the profiles that assume roles with it, and not it."""
    from xacct.sandbox.emulator import SOURCE_PROFILE

    assert SOURCE_PROFILE in (aws.directory / "credentials").read_text()  # it is configured
    child = spawn(width=100)
    child.expect("Profile for the build account")
    child.expect("default credential chain")
    picker = "\n".join(screen(child))
    assert "build" in picker
    assert "dev1" in picker
    assert SOURCE_PROFILE not in picker
    child.sendintr()
    assert finish(child) == 130
