"""The wizard in-process, driven by keystrokes: which questions are asked, how a wrong answer is
refused and asked again in place, and what is read instead of asked. The accounts come from an
`identify` double keyed by profile (what STS would answer); the profiles from a real AWS config
file, read by botocore as the tool reads it. The STS side itself is tested against the emulator."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from xacct.core import answers as ans
from xacct.core.answers import Answers
from xacct.errors import InvalidInput, XacctError
from xacct.terminal import wizard
from xacct.terminal.output import Output

BUILD, DEV1, DEV2 = "111111111111", "222222222222", "333333333333"
REACHES = {"build": BUILD, "dev1": DEV1, "dev2": DEV2}
DOWN = "\x1b[B"
ENTER = "\r"
BACKSPACE = "\x7f"
CONFIG = """\
[profile build]
region = eu-west-1
role_arn = arn:aws:iam::111111111111:role/admin
source_profile = base

[profile dev1]
region = eu-central-1
sso_account_id = 222222222222

[profile dev2]
region = eu-central-1

[profile base]
region = us-east-1
"""


@pytest.mark.parametrize(
    ("check", "value", "ok"),
    [
        (ans.account_problem, "123456789012", True),
        (ans.account_problem, "12345678901", False),
        (ans.account_problem, "12345678901a", False),
        (ans.region_problem, "eu-central-1", True),
        (ans.region_problem, "us-gov-west-1", True),
        (ans.region_problem, "Frankfurt", False),
        (ans.region_problem, "us-east-9", False),
        (ans.stack_problem, "CrossAccountPrimary", True),
        (ans.stack_problem, "1stack", False),
        (ans.stack_problem, "my_stack", False),
    ],
)
def test_validators(check: Callable[[str], str | None], value: str, ok: bool) -> None:
    assert (check(value) is None) is ok


def test_a_region_is_explained_as_it_is_typed() -> None:
    q = next(q for q in wizard.QUESTIONS if q.name == "dev_region")
    v = wizard.validator(q)
    assert v("eu-central-1") is True
    assert str(v("us-east-9")).startswith("'us-east-9' is not a region AWS has; did you mean us-east-")
    assert v("  ") == "an answer is needed"


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config"
    path.write_text(CONFIG)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def keys() -> Iterator[PipeInput]:
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        yield pipe


class Identities:
    """What STS answers for each profile, and every call made."""

    def __init__(self) -> None:
        self.calls: list[tuple[str | None, str | None, str]] = []

    def __call__(self, profile: str | None, region: str | None, label: str) -> str:
        self.calls.append((profile, region, label))
        if profile not in REACHES:
            raise XacctError(f"the {label} account cannot be reached with profile {profile}")
        return REACHES[profile]


def output() -> tuple[Output, io.StringIO]:
    err = io.StringIO()
    return Output(Console(file=io.StringIO()), Console(file=err, width=200, no_color=True)), err


def test_profiles_show_the_account_their_config_names() -> None:
    from xacct.aws.identity import profiles

    choices = wizard.profile_choices(profiles(), taken=None)
    titles = [str(c.title) for c in choices]
    assert [t.split() for t in titles[:3]] == [
        ["base", "us-east-1"],  # keys or a source profile: only STS knows its account
        ["build", BUILD, "eu-west-1"],
        ["dev1", DEV1, "eu-central-1"],
    ]
    assert len({t.rindex(" ") for t in titles[:4]}) == 1  # the regions in one column
    assert titles[-1] == "(no profile: the default credential chain)"


def test_a_new_user_picks_two_profiles_and_is_asked_no_account(keys: PipeInput) -> None:
    # Type to filter the profile list, accept the profile's region and the default stack name.
    keys.send_text("build" + ENTER + ENTER + ENTER + "dev1" + ENTER + ENTER + ENTER)
    o, err = output()
    identify = Identities()
    result = wizard.ask(Answers(), defaults=Answers().with_defaults(), identify=identify, output=o)
    assert (result.build_profile, result.build_account, result.build_region) == ("build", BUILD, "eu-west-1")
    assert (result.dev_profile, result.dev_account, result.dev_region) == ("dev1", DEV1, "eu-central-1")
    assert result.central_stack == "CrossAccountPrimary"
    assert f"✓ build reaches {BUILD}" in err.getvalue()
    assert f"✓ dev1 reaches {DEV1}" in err.getvalue()


def test_a_profile_reaching_the_wrong_account_is_asked_again_in_place(keys: PipeInput) -> None:
    given = Answers(build_profile="build", build_region="eu-west-1", central_stack="C", dev_account=DEV1)
    # dev2 reaches the wrong account: said, and the profile asked again at once; then dev1.
    keys.send_text("dev2" + ENTER + "dev1" + ENTER + ENTER + ENTER)
    o, err = output()
    result = wizard.ask(given, defaults=Answers(), identify=Identities(), output=o)
    assert (result.dev_profile, result.dev_account) == ("dev1", DEV1)
    shown = err.getvalue()
    assert f"! dev2 reaches {DEV2}, not the developer account {DEV1} given with --dev-account" in shown
    assert shown.index("! dev2") < shown.index("✓ dev1")


def test_the_developer_profile_may_not_reach_the_build_account(keys: PipeInput) -> None:
    given = Answers(build_profile="build", build_region="eu-west-1", central_stack="C", dev_region="eu-west-1")
    keys.send_text("build" + ENTER + "dev2" + ENTER + ENTER)
    o, err = output()
    result = wizard.ask(given, defaults=Answers(), identify=Identities(), output=o)
    assert result.dev_account == DEV2
    assert f"build reaches the build account {BUILD} itself" in err.getvalue()


def test_a_region_aws_does_not_have_is_refused_and_asked_again(keys: PipeInput) -> None:
    given = Answers(build_profile="build", central_stack="C", dev_profile="dev1", dev_region="eu-west-1")
    # Clear the profile's region, type a mistake: Enter does nothing until it is corrected.
    keys.send_text(BACKSPACE * 12 + "us-east-9" + ENTER + BACKSPACE + "2" + ENTER + ENTER)
    result = wizard.ask(given, defaults=Answers(), identify=Identities(), output=output()[0])
    assert result.build_region == "us-east-2"


def test_ctrl_d_on_the_profile_picker_cancels_as_ctrl_c_does(keys: PipeInput) -> None:
    keys.send_text("bu\x04")
    with pytest.raises(KeyboardInterrupt):
        wizard.ask(Answers(), defaults=Answers().with_defaults(), identify=Identities(), output=output()[0])


def test_a_filter_that_matches_no_profile_cannot_be_submitted(keys: PipeInput) -> None:
    """Enter on a filter that matches nothing does nothing (questionary would pick the first
    profile, `base`, and fail three questions later); corrected, it picks what it matches."""
    keys.send_text("zzz" + ENTER + BACKSPACE * 3 + "build" + ENTER + ENTER + ENTER + "dev1" + ENTER + ENTER + ENTER)
    result = wizard.ask(Answers(), defaults=Answers().with_defaults(), identify=Identities(), output=output()[0])
    assert (result.build_profile, result.dev_profile) == ("build", "dev1")


def test_typing_replaces_a_default_and_enter_takes_it(keys: PipeInput) -> None:
    """The default is shown, not pre-typed: `eu-west-1` typed is eu-west-1, never us-east-1eu-west-1."""
    given = Answers(build_profile="build", dev_profile="dev1", dev_region="eu-west-1")
    keys.send_text("eu-west-1" + ENTER + ENTER + ENTER)  # build region typed; central stack: the default
    result = wizard.ask(given, defaults=Answers().with_defaults(), identify=Identities(), output=output()[0])
    assert result.build_region == "eu-west-1"
    assert result.central_stack == Answers().with_defaults().central_stack


def test_answers_that_leave_nothing_open_are_shown_once_and_nothing_is_asked(keys: PipeInput) -> None:
    keys.close()  # any question would now fail: nothing may be asked
    given = Answers(build_profile="build", build_region="eu-west-1", dev_profile="dev1", dev_region="eu-west-1")
    saved = Answers(central_stack="Central", build_account="999999999999", dev_account="888888888888")
    o, err = output()
    result = wizard.ask(given, defaults=saved, identify=Identities(), output=o)
    # Saved accounts are never carried over: they are read from the profiles again.
    assert (result.build_account, result.dev_account, result.central_stack) == (BUILD, DEV1, "Central")
    assert f"Build account     {BUILD}  profile build, eu-west-1, central stack Central" in err.getvalue()


def test_guided_asks_everything_with_the_answers_as_defaults(keys: PipeInput) -> None:
    given = Answers(build_profile="build", build_region="eu-west-1", dev_profile="dev1", dev_region="eu-west-1")
    keys.send_text(ENTER * 5 + ENTER)  # accept every default, then continue
    identify = Identities()
    result = wizard.ask(given, defaults=Answers().with_defaults(), identify=identify, guided=True)
    assert result.dev_profile == "dev1"
    assert result.dev_region == "eu-west-1"
    assert [c[0] for c in identify.calls] == ["build", "dev1"]


def test_the_sandbox_asks_only_what_the_flags_left_open(keys: PipeInput) -> None:
    """The sandbox asks every question on a first run, its own answers as defaults; an answer the
    person gave with a flag is theirs, taken, not offered again as a default (guided="unflagged")."""
    given = Answers(dev_region="eu-central-1")
    defaults = Answers(build_profile="build", build_region="eu-west-1", dev_profile="dev1", dev_region="us-east-1")
    keys.send_text(ENTER * 4 + ENTER)  # four questions, each default taken; then continue
    out, _err = output()
    result = wizard.ask(given, defaults=defaults.with_defaults(), identify=Identities(), guided="unflagged", output=out)
    assert result.dev_region == "eu-central-1"
    assert result.build_region == "eu-west-1"
    assert (result.build_account, result.dev_account) == (BUILD, DEV1)


def test_aws_profile_is_the_default_profile(keys: PipeInput, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "dev2")
    given = Answers(build_profile="build", build_region="eu-west-1", central_stack="C", dev_region="eu-west-1")
    keys.send_text(ENTER + ENTER)
    assert wizard.ask(given, defaults=Answers(), identify=Identities()).dev_profile == "dev2"


def test_an_answer_changed_from_the_summary_is_checked_again(keys: PipeInput) -> None:
    given = Answers(build_region="eu-west-1", central_stack="C", dev_region="eu-west-1")
    keys.send_text(
        "build"
        + ENTER
        + "dev1"
        + ENTER
        # The summary: Continue, build profile, build region, central stack, dev profile, dev region.
        + DOWN * 4
        + ENTER
        + "dev2"
        + ENTER
        + ENTER
    )
    o, err = output()
    result = wizard.ask(given, defaults=Answers(), identify=Identities(), output=o)
    assert (result.dev_profile, result.dev_account) == ("dev2", DEV2)
    assert f"✓ dev2 reaches {DEV2}" in err.getvalue()


def test_no_profile_reaching_anything_and_none_to_pick_is_one_line() -> None:
    def nothing(profile: str | None, region: str | None, label: str) -> str:
        raise XacctError(f"the {label} account cannot be reached: no credentials")

    with pytest.raises(InvalidInput, match="no credentials; and no profile is configured"):
        wizard.ask(Answers(build_region="eu-west-1"), defaults=Answers(), identify=nothing, profiles=[])


def test_a_profile_holding_only_the_keys_others_assume_roles_with_is_not_offered(
    config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Keys that `build` assumes its role with belong to an identity account's user: picked, they
    reach that account, not one with the tool's stacks. A keys profile nobody sources from is offered."""
    from xacct.aws.identity import profiles

    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[base]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n"
        "[solo]\naws_access_key_id = AKIAEXAMPLF\naws_secret_access_key = y\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    found = profiles()
    assert {p.name: p.source_for for p in found}["base"] == ("build",)
    titles = [str(c.title).split()[0] for c in wizard.profile_choices(found, taken=None)]
    assert titles == ["build", "dev1", "dev2", "solo", "(no"]
