"""The wizard: validators as functions, and the whole dialogue in-process with keystrokes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from tests.conftest import BUILD, DEV1, DEV2, REGION, deploy_central, fake_entry
from xacct.core import answers as ans
from xacct.core.answers import Answers
from xacct.sandbox.emulator import Emulator
from xacct.terminal import wizard

DOWN = "\x1b[B"
ENTER = "\r"


@pytest.mark.parametrize(
    ("check", "value", "ok"),
    [
        (ans.account_problem, "123456789012", True),
        (ans.account_problem, "12345678901", False),
        (ans.account_problem, "12345678901a", False),
        (ans.region_problem, "eu-central-1", True),
        (ans.region_problem, "us-gov-west-1", True),
        (ans.region_problem, "Frankfurt", False),
        (ans.stack_problem, "CrossAccountPrimary", True),
        (ans.stack_problem, "1stack", False),
        (ans.stack_problem, "my_stack", False),
    ],
)
def test_validators(check: Callable[[str], str | None], value: str, ok: bool) -> None:
    assert (check(value) is None) is ok


def test_questionary_validator_explains_as_you_type() -> None:
    q = next(q for q in wizard.QUESTIONS if q.name == "dev_account")
    v = wizard.validator(q)
    assert v("222222222222") is True
    assert v("2222") == "an AWS account id is 12 digits"
    assert v("  ") == "an answer is needed"


@pytest.fixture
def keys() -> Iterator[object]:
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        yield pipe


def profile_position(name: str) -> int:
    return wizard.profiles().index(name)


def test_the_whole_wizard_by_keystrokes_with_an_answer_changed_from_the_summary(aws: Emulator, keys: PipeInput) -> None:
    keys.send_text(
        f"{BUILD}{ENTER}"
        + DOWN * profile_position("build")
        + ENTER
        + ENTER  # region: the profile's region
        + ENTER  # central stack: the default
        + f"{DEV1}{ENTER}"
        + DOWN * profile_position("dev1")
        + ENTER
        + ENTER
        # The summary: change the developer account, then the developer profile, then continue.
        + DOWN * 5
        + ENTER
        + "\x7f" * 12
        + f"{DEV2}{ENTER}"
        # The profile list opens on the current answer (dev1); dev2 is the next one.
        + DOWN * 6
        + ENTER
        + DOWN
        + ENTER
        + ENTER
    )
    result = wizard.ask(Answers(), defaults=Answers().with_defaults())
    assert result == Answers(
        build_account=BUILD,
        build_region=REGION,
        build_profile="build",
        dev_account=DEV2,
        dev_region=REGION,
        dev_profile="dev2",
        central_stack="CrossAccountPrimary",
        dev_stacks="CrossAccountPrimary,CrossAccountDeploy,CrossAccountDeveloper",
    )


def test_only_missing_answers_are_asked_and_saved_answers_are_defaults(aws: Emulator, keys: PipeInput) -> None:
    given = Answers(
        build_account=BUILD, build_profile="build", build_region=REGION, dev_profile="dev1", dev_region=REGION
    )
    saved = Answers(dev_account=DEV1, central_stack="Central")
    keys.send_text(ENTER + ENTER + ENTER)  # accept the saved account, the saved stack, then continue
    result = wizard.ask(given, defaults=saved.with_defaults())
    assert result.dev_account == DEV1
    assert result.central_stack == "Central"


def test_an_invalid_account_is_refused_as_typed(aws: Emulator, keys: PipeInput) -> None:
    given = Answers(
        build_profile="build",
        build_region=REGION,
        central_stack="C",
        dev_account=DEV1,
        dev_profile="dev1",
        dev_region=REGION,
    )
    # "1234" is refused (Enter does nothing), then corrected.
    keys.send_text("1234" + ENTER + "\x7f" * 4 + BUILD + ENTER + ENTER)
    assert wizard.ask(given, defaults=Answers()).build_account == BUILD


def test_the_wizard_then_the_plan_then_declining_changes_nothing(aws: Emulator, keys: PipeInput) -> None:
    from tests.conftest import cfn, onboard_args, run_cli, stack

    deploy_central([fake_entry(1)])
    # The central stack's name (default), the summary (continue), then decline the plan.
    keys.send_text(ENTER + ENTER + "n")
    r = run_cli(*onboard_args(), interactive=True)
    assert r.code == 0, r.err
    assert "Declined: nothing was changed." in r.out
    assert stack("CrossAccountPrimary", "dev1") is None  # the stack under review is gone too
    assert cfn("build").list_change_sets(StackName="CrossAccountPrimary")["Summaries"] == []


def test_choosing_a_profile_shows_its_account_and_warns_at_once(aws: Emulator, keys: PipeInput) -> None:
    import io

    from rich.console import Console

    from xacct.terminal.output import Output

    err = io.StringIO()
    output = Output(Console(file=io.StringIO()), Console(file=err, width=200, no_color=True))
    given = Answers(build_account=BUILD, build_region=REGION, central_stack="C", dev_account=DEV1, dev_region=REGION)
    # build profile: "build" (right account); developer profile: "dev2" (the wrong one); continue.
    keys.send_text(DOWN * profile_position("build") + ENTER + DOWN * profile_position("dev2") + ENTER + ENTER)
    wizard.ask(given, defaults=Answers(), output=output)
    shown = err.getvalue()
    assert f"✓ build reaches {BUILD}" in shown
    assert f"! dev2 reaches 333333333333, not {DEV1}" in shown
