"""The questions, as data, and the one place that asks them (questionary).

Only what flags, --config and saved answers left open is asked; saved answers are the defaults.
`unsafe_ask` lets Ctrl-C reach the entry point's handler (exit 130).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from xacct.core.answers import Answers, account_problem, region_problem, stack_problem

if TYPE_CHECKING:
    from xacct.terminal.output import Output


@dataclass(frozen=True)
class Question:
    name: str
    message: str
    kind: str  # account | region | profile | text
    developer: bool = False
    check: Callable[[str], str | None] | None = None


QUESTIONS = (
    Question("build_account", "Build (central) account id", "account", check=account_problem),
    Question("build_profile", "Profile for the build account", "profile"),
    Question("build_region", "Region of the central stack", "region", check=region_problem),
    Question("central_stack", "Central stack name", "text", check=stack_problem),
    Question("dev_account", "Developer account id", "account", developer=True, check=account_problem),
    Question("dev_profile", "Profile for the developer account", "profile", developer=True),
    Question("dev_region", "Region of the developer stacks", "region", developer=True, check=region_problem),
)


CONTINUE = "__continue__"  # questionary would use the title for a None value


def validator(q: Question) -> Callable[[str], bool | str]:
    """questionary's form: True, or the message to show while typing."""

    def check(text: str) -> bool | str:
        if not text.strip():
            return "an answer is needed"
        problem = q.check(text) if q.check else None
        return problem or True

    return check


def profiles() -> list[str]:
    import boto3

    return sorted(boto3.Session().available_profiles)


def profile_region(profile: str) -> str | None:
    import boto3

    try:
        return boto3.Session(profile_name=profile).region_name
    except Exception:
        return None


def regions() -> list[str]:
    import boto3

    return sorted(boto3.Session().get_available_regions("cloudformation"))


def reach(profile: str) -> str:
    """The account a profile reaches, or why it does not."""
    from xacct.aws.gateway import Gateway

    try:
        return Gateway(profile, profile_region(profile) or "us-east-1", "").account()
    except Exception as exc:
        return f"?: {getattr(exc, 'message', exc)}"


def _ask_one(q: Question, current: Answers, default: str | None, output: Output | None) -> str:
    import questionary

    if q.kind == "profile":
        choices = profiles()
        if choices:
            return str(
                questionary.select(
                    q.message, choices=choices, default=default if default in choices else None
                ).unsafe_ask()
            )
    if q.kind == "region":
        profile = current.build_profile if q.name.startswith("build") else current.dev_profile
        region_default = default or (profile_region(profile) if profile else None) or "us-east-1"
        return str(
            questionary.autocomplete(
                q.message, choices=regions(), default=region_default, validate=validator(q)
            ).unsafe_ask()
        ).strip()
    return str(questionary.text(q.message, default=default or "", validate=validator(q)).unsafe_ask()).strip()


def _after_profile(q: Question, answers: Answers, output: Output | None) -> None:
    """As soon as a profile is chosen, say which account it reaches, and warn at once."""
    if q.kind != "profile" or output is None:
        return
    profile = getattr(answers, q.name)
    account = reach(profile)
    expected = answers.build_account if q.name.startswith("build") else answers.dev_account
    if account == expected:
        output.info(f"  [green]✓[/] {profile} reaches {account}")
    else:
        output.info(f"  [bold yellow]![/] {profile} reaches {account}, not {expected}")


def ask(given: Answers, *, defaults: Answers, developer: bool = True, output: Output | None = None) -> Answers:
    """Fill every gap in `given` by asking; then show all answers and let one be changed."""
    import questionary

    answers = given
    for q in QUESTIONS:
        if q.developer and not developer:
            continue
        if getattr(answers, q.name) in (None, ""):
            value = _ask_one(q, answers, getattr(defaults, q.name), output)
            answers = replace(answers, **{q.name: value})
            _after_profile(q, answers, output)
    answers = answers.layered(defaults)
    while True:
        shown = [q for q in QUESTIONS if developer or not q.developer]
        width = max(len(q.message) for q in shown)
        choices: list[Any] = [questionary.Choice("Continue with these answers", value=CONTINUE)]
        choices += [
            questionary.Choice(f"{q.message:<{width}}  {getattr(answers, q.name)}", value=q.name) for q in shown
        ]
        picked = questionary.select("Your answers (pick one to change it):", choices=choices).unsafe_ask()
        if picked == CONTINUE:
            return answers
        q = next(q for q in QUESTIONS if q.name == picked)
        value = _ask_one(q, answers, getattr(answers, q.name), output)
        answers = replace(answers, **{q.name: value})
        _after_profile(q, answers, output)


def confirm(question: str) -> bool:
    import questionary

    return bool(questionary.confirm(question, default=False).unsafe_ask())


def type_to_confirm(message: str) -> str:
    import questionary

    return str(questionary.text(message).unsafe_ask())
