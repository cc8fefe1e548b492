"""Every input a person can get wrong, refused with exit 2 and one line, no traceback, before a
single write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import BUILD, DEV1, REGION, cfn, deploy_central, fake_entry, onboard_args, run_cli
from xacct.sandbox.emulator import Emulator

READS = ("Describe", "Get", "List", "Head")
CREDENTIALS = {"AssumeRole", "GetCallerIdentity"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    original = boto3.Session.__init__

    def init(self: boto3.Session, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.events.register("before-call", lambda model, **_: seen.append(model.name))

    monkeypatch.setattr(boto3.Session, "__init__", init)
    return seen


def with_flag(flag: str, value: str) -> list[str]:
    """The standard onboarding flags with one of them replaced."""
    args = onboard_args()
    if flag in args:
        args[args.index(flag) + 1] = value
        return args
    return [*args, flag, value]


BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"

CASES = [
    ("region with a trailing space", with_flag("--dev-region", "us-east-1 "), "is not a region (spaces around it?)"),
    ("region with a newline", with_flag("--build-region", "us-east-1\n"), "is not a region"),
    ("region AWS does not have", with_flag("--dev-region", "us-east-9"), "'us-east-9' is not a region AWS has"),
    ("account in Arabic-Indic digits", with_flag("--dev-account", "١١١١١١١١١١١١"), "is 12 digits"),
    ("account with a newline", with_flag("--build-account", f"{BUILD}\n"), "is 12 digits"),
    ("stack named twice", with_flag("--dev-stacks", "A,A,B"), "names the same stack twice"),
    ("two formats for stdout", [*onboard_args(), "--dry-run", "--json", "--markdown"], "give one of them"),
    (
        "a plan file in a missing folder",
        [*onboard_args(), "--dry-run", "--out", "no/such/plan.json"],
        "--out no/such/plan.json: the folder no/such does not exist",
    ),
    ("a flag named as typed", [*onboard_args(), "--apply", "plan.json", "--dry-run"], "error: --apply goes with"),
    ("stack named twice, last", with_flag("--dev-stacks", "A,B,B"), "names the same stack twice"),
    ("stack name with a newline", with_flag("--central-stack", "CrossAccountPrimary\n"), "a stack name is"),
    ("profile with a space", with_flag("--dev-profile", "dev 1"), "a profile name has no spaces"),
    ("orphan that is markup", ["--remove", "--orphan", "[/]", *onboard_args()[:6]], "--orphan '[/]' is not a bucket"),
    ("orphan that is not a bucket", ["--remove", "--orphan", "Bad_Bucket", *onboard_args()[:6]], "not a bucket"),
]


@pytest.mark.parametrize(("case", "args", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_flags_are_refused_in_one_line_before_any_write(
    aws: Emulator, calls: list[str], case: str, args: list[str], message: str
) -> None:
    deploy_central([fake_entry(1)])
    calls.clear()
    r = run_cli(*args, "--yes")
    assert r.code == 2, (case, r.err)
    assert message in r.err, (case, r.err)
    assert "Traceback" not in r.err
    assert len([line for line in r.err.splitlines() if line.startswith("error:")]) == 1
    assert [c for c in calls if not c.startswith(READS) and c not in CREDENTIALS] == []


CONFIGS = [
    ("a number for a key", b"1: x\n", "unknown keys 1"),
    ("a list for a key", b"? [a, b]\n: x\n", "is not valid YAML"),
    ("a byte that is not UTF-8", b"build_region: us-east-1\xff\n", "is not UTF-8 text"),
    ("an alias bomb", BOMB.encode(), "YAML aliases are not accepted"),
    ("a list for a value", b"dev_region: [us-east-1]\n", "dev_region must be text"),
    ("over the size limit", b"# " + b"x" * 70_000 + b"\n", "is over 64 KB"),
    ("not YAML", b"build_region: [unclosed\n", "is not valid YAML: line 2, column 1: expected ',' or ']'"),
    ("bad indentation", b"developers:\n  - dev_profile: a\n   bad: x\n", "line 3, column 4: expected the end of"),
]


@pytest.mark.parametrize(("case", "content", "message"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_bad_config_files_are_refused_in_one_line(
    aws: Emulator, calls: list[str], tmp_path: Path, case: str, content: bytes, message: str
) -> None:
    config = tmp_path / "answers.yaml"
    config.write_bytes(content)
    r = run_cli("--config", str(config), "--dry-run")
    assert r.code == 2, (case, r.err)
    assert message in r.err, (case, r.err)
    assert "Traceback" not in r.err
    assert "<unicode string>" not in r.err  # the parser's internals are not the person's
    assert "<block" not in r.err
    assert len(r.err.splitlines()) <= 2  # the error, and at most one "next:" line
    assert calls == []


@pytest.mark.parametrize("flag", ["--build-profile", "--dev-profile"])
def test_a_profile_that_only_holds_keys_for_others_is_refused_before_any_aws_call(
    aws: Emulator, calls: list[str], flag: str
) -> None:
    """The emulator's profiles assume their roles with the keys of one profile, as an identity
    account's user's would: named itself, it reaches no account of the tool's."""
    from xacct.sandbox.emulator import SOURCE_PROFILE

    r = run_cli(*with_flag(flag, SOURCE_PROFILE), "--yes")
    assert r.code == 2, r.err
    first, *rest = r.err.splitlines()
    assert first.startswith(f"error: profile {SOURCE_PROFILE} only holds the keys that build, dev1")
    assert f"name one of those with {flag}" in rest[0]
    assert len(r.err.splitlines()) <= 3
    assert calls == []


def test_a_team_file_naming_the_keys_profile_is_refused_before_any_write(
    aws: Emulator, calls: list[str], tmp_path: Path
) -> None:
    from xacct.sandbox.emulator import SOURCE_PROFILE

    team = tmp_path / "team.yaml"
    team.write_text(
        f"build_profile: build\nbuild_region: {REGION}\ndevelopers:\n"
        f"  - dev_profile: dev1\n  - dev_profile: {SOURCE_PROFILE}\n"
    )
    r = run_cli("--from", str(team), "--dry-run")
    assert r.code == 2, r.err
    assert f"developer 2 ({SOURCE_PROFILE}, ?): profile {SOURCE_PROFILE} only holds the keys that build, dev1" in r.err
    assert [c for c in calls if not c.startswith(READS) and c not in CREDENTIALS] == []


def test_an_account_id_with_a_leading_zero_stays_what_was_written(aws: Emulator, tmp_path: Path) -> None:
    deploy_central()
    config = tmp_path / "answers.yaml"
    config.write_text(
        f"build_account: 011111111111\nbuild_region: {REGION}\nbuild_profile: build\n"
        f"dev_account: {DEV1}\ndev_region: {REGION}\ndev_profile: dev1\n"
    )
    r = run_cli("--config", str(config), "--dry-run")
    assert r.code == 2
    # Read as text, not as the octal number 011111111111 (1227133513): the profile reaches another account.
    assert f"reaches account {BUILD}, not the build account 011111111111" in r.err


def test_dev_stacks_in_another_order_never_send_a_template_to_the_wrong_stack(aws: Emulator, calls: list[str]) -> None:
    deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    before = {s["StackName"]: s.get("LastUpdatedTime", None)
              for s in cfn("dev1").describe_stacks()["Stacks"]}  # fmt: skip
    calls.clear()
    r = run_cli(*with_flag("--dev-stacks", "CrossAccountDeveloper,CrossAccountDeploy,CrossAccountPrimary"), "--yes")
    assert r.code == 2
    assert "the stack CrossAccountDeveloper in the developer account holds a CrossAccountDeveloper template" in r.err
    assert [c for c in calls if not c.startswith(READS) and c not in CREDENTIALS] == []
    after = {s["StackName"]: s.get("LastUpdatedTime", None)
             for s in cfn("dev1").describe_stacks()["Stacks"]}  # fmt: skip
    assert after == before
    removing = run_cli(*with_flag("--dev-stacks", "CrossAccountDeveloper,CrossAccountDeploy,CrossAccountPrimary"),
                       "--remove", "--yes")  # fmt: skip
    assert removing.code == 2
    assert "holds a CrossAccountDeveloper template" in removing.err


@pytest.mark.parametrize(
    ("flag", "said"),
    [
        (["--dry"], "did you mean --dry-run?"),
        (["--dev-profile", ""], "--dev-profile is empty"),
        (["--build-region", "  "], "--build-region is empty"),
        (["--central-stack", ""], "--central-stack is empty"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--out", ""], "--out: is empty"),
    ],
)
def test_a_mistaken_flag_is_one_short_refusal_and_changes_nothing(aws: Emulator, flag: list[str], said: str) -> None:
    """No abbreviations, no empty values quietly replaced by defaults (an unset variable in CI
    would onboard someone else), no usage block: at most three lines, exit 2, nothing written."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    deploy_central()
    args = onboard_args()
    if flag[0] in args:
        i = args.index(flag[0])
        del args[i : i + 2]
    done = subprocess.run(
        [sys.executable, str(ROOT / "onboard.py"), *args, *flag, "--yes"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
    assert len((done.stdout + done.stderr).strip().splitlines()) <= 3, done.stderr
    assert "usage:" not in done.stderr
    assert [s["StackName"] for s in cfn("dev1").describe_stacks()["Stacks"]] == []


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--verify", "--all", "--probe"], "--probe goes with --verify of one developer"),
        (["--status", "--dev-profile", "dev1"], "--dev-profile has no effect here"),
        (["--verify", "--all", "--dev-region", REGION], "--dev-region has no effect here"),
        (["--remove", "--dry-run", "--out", "plan.json"], "a removal, --status, --verify or --adopt saves no plan"),
    ],
)
def test_a_flag_without_effect_in_its_mode_is_refused(argv: list[str], said: str) -> None:
    r = run_cli(*argv)
    assert r.code == 2
    assert said in r.err


@pytest.mark.parametrize("interactive", [False, True], ids=["no terminal", "terminal"])
def test_with_no_aws_set_up_at_all_the_tool_points_to_the_sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, interactive: bool
) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "config").write_text("")
    (tmp_path / "credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for argv in (["--yes"], ["--status"], ["--dry-run"]):
        r = run_cli(*argv, interactive=interactive)
        assert r.code == 2, (argv, r.err)
        assert "--sandbox" in r.err
        assert "aws configure sso" in r.err
        assert "None" not in r.out + r.err


B = ["--build-account", BUILD, "--build-region", REGION, "--build-profile", "build"]
SWEEP = [
    ["--bogus"], ["--status", "--remove"], ["--verify", "--sync"], ["--all"], ["--probe"], ["--purge"],
    ["--orphan", "x"], ["--junit", "r.xml"], ["--out", "p.json"], ["--markdown"], ["--no-sync", "--status"],
    ["--max-concurrent", "0", "--ou", "ou-ab12-cdefgh34"], ["--failure-tolerance", "-1", "--ou", "ou-ab12-cdefgh34"],
    ["--ou", "not-an-ou"], ["--org-profile", "x"], ["--approve"], ["--reject", "123"], ["--reason", "x"],
    ["--auto-approve"], ["--enable-joining"], ["--enable-joining", "bogus"], ["--alerts", "nope"], ["--alerts", ""],
    ["--alerts", "a@b.c", "--dev-profile", "x"], ["--print-policy", "nobody"],
    ["--print-policy", "developer", "--central-stack", "X"], ["--config", "{tmp}/missing.yaml"],
    ["--config", "{tmp}/list.yaml"], ["--from", "{tmp}/missing.yaml"], ["--from", "{tmp}/empty.yaml"],
    ["--apply", "{tmp}/plan.json"], ["--apply", "{tmp}/missing.json"], [*B, "--build-account", "12"],
    [*B[:4], "--build-region", "mars-1"], ["--build-account", "abc"], ["--central-stack", "1bad"],
    ["--central-stack", "a" * 200], ["--dev-stacks", "A,B"], ["--dev-stacks", ""], ["--build-profile", ""],
    ["--dev-region", "US-EAST-1"], ["--status", "--dev-account", DEV1], ["--join", "--leave"], ["--join", "--status"],
    ["--leave", "--remove"], ["--sync", "--dry-run", "--out", "/nonexistent/x.json"], ["--json", "--markdown", "--dry-run"],
    ["--from", "{tmp}/list.yaml", "--dev-profile", "x"], ["--verify", "--all", "--dev-profile", "x"],
    ["--log", "/nonexistent/dir/log.txt"], ["--adopt", "--dev-profile", "x"], ["--remove", "--orphan", "Bad_Bucket"],
    ["--ou", "ou-ab12-cdefgh34", "--dev-account", DEV1], ["--max-concurrent", "x"],
    # and 36 more, from the same newcomer's second hour
    ["--dev-account", "12345678901"], ["--dev-account", "1234567890123"], ["--dev-region", "europe"],
    ["--build-region", "eu-west-1 "], ["--central-stack", "my_stack"], ["--dev-stacks", "A,B,C,D"],
    ["--dev-stacks", "A,,C"], ["--dev-stacks", "A,A,B"], ["--dev-profile", "has space"], ["--build-profile", "a b"],
    ["--remove", "--orphan", "ab"], ["--remove", "--orphan", "a" * 64], ["--remove", "--orphan", "xacct..double"],
    ["--alerts", "arn:aws:sns:us-east-1:12:topic"], ["--alerts", "ops@"], ["--print-policy"],
    ["--print-policy", "developer", "--dev-stacks", "A,B"], ["--print-policy", "build", "--dev-stacks", "A,B,C"],
    ["--max-concurrent", "-3", "--ou", "ou-ab12-cdefgh34"], ["--failure-tolerance", "x", "--ou", "ou-ab12-cdefgh34"],
    ["--ou", "r-ab12"], ["--ou", "ou-AB12-cdefgh34"], ["--enable-joining", "ou-ab12"], ["--join"],
    ["--join", "--build-account", BUILD], ["--join", "--build-account", "11", "--build-region", REGION],
    ["--config", "{tmp}/unknown.yaml"], ["--from", "{tmp}/nodevs.yaml"], ["--apply", "{tmp}/list.yaml"],
    ["--apply", "{tmp}/plan.json", "--dry-run"], ["--dry-run", "--out", "{tmp}"], ["--log", "{tmp}"],
    ["--sandbox", "--ou", "ou-ab12-cdefgh34"], ["--sandbox", "--build-region", "us-east-9"],
    ["--sandbox", "--dev-profile", "nope"], ["--sandbox", "--apply", "{tmp}/plan.json"],
]  # fmt: skip


@pytest.mark.parametrize("argv", SWEEP, ids=lambda a: " ".join(a)[:60])
def test_a_bad_input_is_exit_2_in_at_most_three_lines_naming_flags_as_typed(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before AWS is asked anything (no AWS configuration at all here): exit 2, no traceback, and no
    flag under its internal name (--apply-plan, --fleet)."""
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, str(tmp_path / "none"))
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    (tmp_path / "plan.json").write_text("{not json")
    (tmp_path / "unknown.yaml").write_text("build_regoin: us-east-1\n")
    (tmp_path / "nodevs.yaml").write_text("build_profile: build\ndevelopers: []\n")
    try:
        r = run_cli(*(a.replace("{tmp}", str(tmp_path)) for a in argv))
        code, err = r.code, r.err
    except SystemExit as exc:  # argparse's own refusals: a flag it does not know, two modes
        code, err = int(exc.code or 0), capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert 1 <= len(lines) <= 3, err
    assert "Traceback" not in err
    assert not any(name in err for name in ("--apply-plan", "--fleet", "apply_plan", "print_policy")), err
