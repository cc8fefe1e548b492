"""The questions, as data, and the one place that asks them (questionary).

Accounts are never asked: a profile is, and the account it reaches is read (STS) the moment it
is picked, checked against an account given with a flag, and the profile asked again in place
when it reaches the wrong one or none. Only what flags, --config and saved answers left open is
asked (everything with --guided); when nothing was, the answers are shown once and the run goes
on. `unsafe_ask` lets Ctrl-C reach the entry point's handler (exit 130).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from rich.markup import escape

from xacct.core.answers import Answers, region_problem, stack_problem
from xacct.errors import InvalidInput, XacctError

if TYPE_CHECKING:
    from xacct.aws.identity import Profile
    from xacct.terminal.output import Output

Side = Literal["build", "dev"]
# (profile, region, "build" | "developer") -> the account it reaches, or XacctError
Identify = Callable[[str | None, str | None, str], str]
# Why the central stack named cannot be used (None: it can): (profile, region, stack name).
StackCheck = Callable[[str | None, str, str], str | None]
DEFAULT_CHAIN = ""  # the picker's value for "no profile" (questionary would use the title for None)
CONTINUE = "__continue__"


@dataclass(frozen=True)
class Question:
    name: str
    message: str
    kind: Literal["profile", "region", "text"]
    side: Side
    check: Callable[[str], str | None] | None = None

    @property
    def label(self) -> str:
        """The answer's name in the summary: short, so a picked row fits 80 columns whole."""
        return self.name.replace("dev_", "developer ").replace("build_", "build ").replace("_", " ")


QUESTIONS = (
    Question("build_profile", "Profile for the build account", "profile", "build"),
    Question("build_region", "Region of the central stack", "region", "build", check=region_problem),
    Question("central_stack", "Central stack name", "text", "build", check=stack_problem),
    Question("dev_profile", "Profile for the developer account", "profile", "dev"),
    Question("dev_region", "Region of the developer stacks", "region", "dev", check=region_problem),
)
LABEL = {"build": "build", "dev": "developer"}


def validator(q: Question, default: str | None = None) -> Callable[[str], bool | str]:
    """questionary's form: True, or the message to show while typing. Nothing typed takes the
    default, when there is one."""

    def check(text: str) -> bool | str:
        if not text.strip():
            return True if default else "an answer is needed"
        problem = q.check(text.strip()) if q.check else None
        return problem or True

    return check


def profile_choices(found: list[Profile], taken: str | None) -> list[Any]:
    """One line per profile: its name, the account its config names and its region, so typing
    part of any of them filters the list; the default credential chain last. A profile that only
    holds the keys others assume their roles with is no account's, and is not offered."""
    import questionary

    found = [p for p in found if not p.source_for]
    width = max([len(p.name) for p in found] + [7])
    choices: list[Any] = [
        questionary.Choice(
            f"{p.name:<{width}}  {p.account or '':<12}  {p.region or ''}".rstrip()
            + ("  (the build account's)" if p.name == taken else ""),
            value=p.name,
        )
        for p in found
    ]
    choices.append(questionary.Choice("(no profile: the default credential chain)", value=DEFAULT_CHAIN))
    return choices


class Wizard:
    """One dialogue: what is known so far, what was asked, and the identities read."""

    def __init__(
        self, answers: Answers, given: Answers, identify: Identify, output: Output | None, stacks: StackCheck | None
    ) -> None:
        self.answers, self.given, self.identify, self.output = answers, given, identify, output
        self.stacks = stacks
        self.asked = False

    def ask_checked(self, q: Question, found: list[Profile]) -> None:
        """Ask; a central stack the build account does not have is said, and asked again in place."""
        while True:
            self._ask(q, found)
            if q.name != "central_stack" or self.stacks is None or not self.answers.build_region:
                return
            problem = self.stacks(
                self.answers.build_profile, self.answers.build_region, self.answers.central_stack or ""
            )
            if problem is None:
                return
            self._say(f"[yellow]! {escape(problem)}[/]")

    # ---- the accounts, read from the profiles -------------------------------------------------

    def _say(self, message: str) -> None:
        if self.output is not None:
            self.output.info(message)

    def _reach(self, side: Side) -> str:
        """Read the account of this side's profile, with a spinner; XacctError when it reaches none."""
        from contextlib import nullcontext

        profile = getattr(self.answers, f"{side}_profile") or None
        region = getattr(self.answers, f"{side}_region") or None
        who = f"profile {profile}" if profile else "the default credentials"
        waiting: Any = (
            self.output.terminal.status(f"checking {who}…")
            if self.output is not None and self.output.terminal.is_terminal
            else nullcontext()
        )
        with waiting:
            return self.identify(profile, region, LABEL[side])

    def _problem(self, side: Side, account: str) -> str | None:
        expected = getattr(self.given, f"{side}_account")
        reaches = _reaches(getattr(self.answers, f"{side}_profile"))
        if expected and account != expected:
            return f"{reaches} {account}, not the {LABEL[side]} account {expected} given with --{side}-account"
        if side == "dev" and account == self.answers.build_account:
            return f"{reaches} the build account {account} itself; pick the developer account's profile"
        return None

    def settle(self, side: Side, found: list[Profile]) -> None:
        """This side's profile, asked until it reaches the right account; the account recorded."""
        while True:
            try:
                account = self._reach(side)
                problem = self._problem(side, account)
            except XacctError as exc:
                account, problem = "", exc.message
            if problem is None:
                self._say(f"  [green]✓[/] {escape(_reaches(getattr(self.answers, f'{side}_profile')))} {account}")
                self.answers = replace(self.answers, **{f"{side}_account": account})
                return
            self._say(f"  [bold yellow]![/] {escape(problem)}")
            expected = self.given.build_account
            if side == "build" and expected and not any(p.account == expected for p in found):
                from xacct.core.joining import join_hint

                hint = join_hint(expected, self.answers.build_region, self.answers.dev_profile)
                self._say(f"  {escape(hint)}")
            if not found:
                raise InvalidInput(f"{problem}; and no profile is configured to pick instead")
            q = next(q for q in QUESTIONS if q.name == f"{side}_profile")
            self._ask(q, found)

    # ---- asking --------------------------------------------------------------------------------

    def _default(self, q: Question) -> str | None:
        from xacct.aws.identity import environment_profile, profile_region

        current = getattr(self.answers, q.name)
        if current not in (None, ""):
            return str(current)
        if q.kind == "profile":
            other = self.answers.build_profile if q.side == "dev" else None
            env = environment_profile()
            return env if env and env != other else None
        if q.kind == "region":
            profile = getattr(self.answers, f"{q.side}_profile") or None
            fallback = self.answers.build_region if q.side == "dev" else None
            return profile_region(profile) or fallback or "us-east-1"
        return None

    def _ask(self, q: Question, found: list[Profile]) -> None:
        import questionary

        from xacct.core.regions import known

        default = self._default(q)
        self.asked = True
        if q.kind == "profile":
            taken = self.answers.build_profile if q.side == "dev" else None
            choices = profile_choices(found, taken)
            values = [c.value for c in choices]
            picked = _answer(
                _filter_must_match(
                    questionary.select(
                        q.message,
                        choices=choices,
                        instruction="(type to filter, arrows to move)",
                        default=default if default in values else None,
                        use_search_filter=True,
                        use_jk_keys=False,
                    )
                )
            )
            value: str | None = str(picked) or None
        else:
            # The default is shown, not typed in: typing replaces it, Enter takes it (as gh and sam do).
            message = f"{q.message} ({default})" if default else q.message
            if q.kind == "region":
                asked = questionary.autocomplete(message, choices=sorted(known()), validate=validator(q, default))
            else:
                asked = questionary.text(message, validate=validator(q, default))
            value = str(_answer(asked)).strip() or default
        self.answers = replace(self.answers, **{q.name: value})

    def review(self, shown: list[Question], found: list[Profile]) -> None:
        """All answers, with the accounts read; pick one to change it, or continue."""
        import questionary

        while True:
            width = max(len(q.label) for q in shown)
            choices: list[Any] = [questionary.Choice("Continue with these answers", value=CONTINUE)]
            choices += [questionary.Choice(f"{q.label:<{width}}  {self.shown(q)}", value=q.name) for q in shown]
            # A short question: the row picked is echoed after it, and must fit 80 columns unbroken.
            picked = _answer(
                questionary.select("Your answers:", choices=choices, instruction="(pick one to change it)")
            )
            if picked == CONTINUE:
                return
            q = next(q for q in QUESTIONS if q.name == picked)
            self.ask_checked(q, found)
            if q.kind == "profile" or (q.kind == "region" and not getattr(self.answers, f"{q.side}_account")):
                self.settle(q.side, found)

    def shown(self, q: Question) -> str:
        value = getattr(self.answers, q.name)
        if q.kind == "profile":
            account = getattr(self.answers, f"{q.side}_account")
            return f"{value or '(default credentials)'} -> {account}"
        return str(value)


def ask(
    given: Answers,
    *,
    defaults: Answers,
    identify: Identify,
    developer: bool = True,
    guided: bool | Literal["unflagged"] = False,
    output: Output | None = None,
    profiles: list[Profile] | None = None,
    stacks: StackCheck | None = None,
) -> Answers:
    """Ask what `given` and `defaults` leave open (everything, as defaults, when `guided`), read
    each profile's account as it is picked, and return the answers with the accounts filled."""
    from xacct.aws import identity

    found = identity.profiles() if profiles is None else profiles
    # An account is never an answer to carry over: it is read from the profile every run.
    known = given.layered(replace(defaults, build_account=None, dev_account=None))
    if not found and not given.build_profile and not given.dev_profile:
        known = replace(known, build_profile=None, dev_profile=None)
    w = Wizard(known, given, identify, output, stacks)
    shown = [q for q in QUESTIONS if developer or q.side == "build"]
    for q in shown:
        open_ = getattr(w.answers, q.name) in (None, "")
        again = guided is True or (guided == "unflagged" and getattr(given, q.name) in (None, ""))
        if q.kind == "profile":
            if (open_ or again) and found:
                w._ask(q, found)
            w.settle(q.side, found)
        elif open_ or again:
            w.ask_checked(q, found)
    if w.asked:
        w.review(shown, found)
    else:
        show_summary(w.answers, developer, output)
    return w.answers


def show_summary(answers: Answers, developer: bool, output: Output | None) -> None:
    """The answers once, when none had to be asked."""
    if output is None:
        return
    a = answers
    output.info(
        f"Build account     {a.build_account}  profile {escape(a.build_profile or '(default credentials)')}, "
        f"{a.build_region}, central stack {escape(a.central_stack or '')}"
    )
    if developer:
        output.info(
            f"Developer account {a.dev_account}  profile {escape(a.dev_profile or '(default credentials)')}, "
            f"{a.dev_region}"
        )
    output.info("[dim]  (from flags and saved answers; --guided asks every question again)[/]")


def _filter_must_match(question: Any) -> Any:
    """Enter does nothing while the typed filter matches no choice: questionary then shows, and
    would pick, the first of all of them (a profile nobody chose, failing questions later). ^D
    ends the picker as it ends a typed answer (questionary's select ignored it)."""
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
    from prompt_toolkit.keys import Keys
    from questionary.prompts.common import InquirerControl

    app = question.application
    controls = [c for c in app.layout.find_all_controls() if isinstance(c, InquirerControl)]
    if not controls:
        return question
    control = controls[0]

    def unmatched() -> bool:
        typed = str(control.search_filter or "").lower()
        return bool(typed) and not any(typed in str(c.title).lower() for c in control.choices)

    held = KeyBindings()
    held.add(Keys.ControlM, eager=True, filter=Condition(unmatched))(lambda _event: None)
    held.add(Keys.ControlD, eager=True)(lambda event: event.app.exit(exception=EOFError(), style="class:aborting"))
    app.key_bindings = merge_key_bindings([app.key_bindings, held])
    return question


def _answer(question: Any) -> Any:
    """The question's answer; ^D is taken as Ctrl-C (prompt_toolkit raises EOFError), so both cancel
    in the one place that cleans up what is under review and exits 130."""
    try:
        return question.unsafe_ask()
    except EOFError:
        raise KeyboardInterrupt from None


def confirm(question: str) -> bool:
    import questionary

    return bool(_answer(questionary.confirm(question, default=False)))


def type_to_confirm(message: str) -> str:
    import questionary

    return str(_answer(questionary.text(message)))


def _reaches(profile: str | None) -> str:
    """The subject and its verb: "profile-name reaches", "the default credentials reach"."""
    return f"{profile} reaches" if profile else "the default credentials reach"
