"""What a person reads about an onboarding or a removal: the plan, what CloudFormation will do to
each stack in each account, and the closing summary. Every value is shown whole at any width:
lines are fitted by layout.py (breaks at spaces or an ARN's separators), never cropped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.style import Style
from rich.text import Text

from xacct.core import registry as reg
from xacct.core.grants import GrantChanges
from xacct.core.plan import BucketContents, Plan, StackStep, is_pending
from xacct.core.preview import Preview, console_url
from xacct.core.state import StackState
from xacct.terminal.layout import fit, hang_for
from xacct.terminal.output import Output

ACTION_STYLE = {"create": "green", "update": "yellow", "delete": "red", "none": "dim"}
ENTRY_MARK = {
    "unchanged": (" ", "dim"),
    "added": ("+", "green"),
    "removed": ("-", "red"),
    "key-replaced": ("~", "yellow"),
}
COLLAPSE_AFTER = 6


def total(o: Output, line: str) -> None:
    """The plan's one-line total, above the question that approves it."""
    o.out.print()
    o.out.print(f"[bold]{line}[/]", highlight=False, soft_wrap=True)


def say(o: Output, *parts: str | tuple[str, str | Style], hang: int = 2) -> None:
    """One logical line, from plain and (text, style) parts, fitted to stdout's width."""
    text = Text()
    for part in parts:
        if isinstance(part, tuple):
            text.append(part[0], style=part[1])
        else:
            text.append(part)
    for line in fit(text, o.out.width, hang):
        o.out.print(line, highlight=False, soft_wrap=True)


def value_line(o: Output, value: str, style: str | Style = "", preferred: int = 4) -> None:
    """A value on a line of its own, indented as far as lets it stay whole on one line."""
    hang = hang_for(value, o.out.width, preferred)
    say(o, " " * hang, (value, style), hang=hang)


def show_plan(o: Output, plan: Plan) -> None:
    onboard = plan.action == "onboard"
    say(
        o,
        ("Onboarding" if onboard else "Removing", "bold"),
        " developer account ",
        (plan.dev_account, "bold"),
        f" ({plan.dev_region}) {'onto' if onboard else 'from'} build account ",
        (plan.build_account, "bold"),
        f" ({plan.build_region}), central stack ",
        (plan.central_stack, "bold"),
    )
    o.out.print()
    say(o, ("Developer account stacks", "bold"), f" ({plan.dev_account}, {plan.dev_region})")
    width = max([len(step.stack) for step in plan.stacks] + [5])
    for step in plan.stacks:
        say(
            o,
            f"  {step.stack:<{width}}  ",
            (f"{step.action:<6}", ACTION_STYLE.get(step.action, "")),
            f"  {step.detail}" if step.detail else "",
            hang=width + 12,
        )
    show_entries(o, plan)
    say(o, "Developer bucket: ", (plan.bucket, "bold"))
    key = plan.cmk if not is_pending(plan.cmk) else "created with the primary stack"
    say(o, "Developer key: ", key or "")
    for c in plan.emptied:
        purge_line(o, c)
    for note in plan.notes:
        say(o, ("note:", "dim"), f" {note}")


def purge_line(o: Output, c: BucketContents, indent: str = "") -> None:
    held = f"holds {c.versions} object versions, deleted with it" if c.versions else "is empty"
    say(o, (f"{indent}purge:", "bold"), f" {c.bucket} {held}", hang=len(indent) + 2)


def stacks_line(o: Output, head: str, steps: Iterable[StackStep], hang: int) -> None:
    """One line for a developer's stacks: each with its action, coloured."""
    parts: list[str | tuple[str, str]] = [head]
    for step in steps:
        label = "up to date" if step.action == "none" else step.action
        parts += [f"{step.stack} ", (label, ACTION_STYLE.get(step.action, "")), "  "]
    say(o, *parts, hang=hang)


def show_entries(o: Output, plan: Plan) -> None:
    d = plan.diff
    o.out.print()
    say(o, ("Central replication lists", "bold"), f" ({plan.change.message})")
    enable_before, enable_after = d.parameters[reg.ENABLE]
    if enable_before != enable_after:
        say(o, "  EnableReplication: ", (enable_before, "red"), " -> ", (enable_after, "green"))
    else:
        say(o, f"  EnableReplication: {enable_after}")
    rows = list(enumerate(d.entries, 1))
    # Where buckets and keys start: a key on a line of its own is never left of its bucket.
    column = min([9] + [hang_for(r.entry.cmk, o.out.width, 9) for _, r in rows if not is_pending(r.entry.cmk)])
    collapse = sum(row.status == "unchanged" for _, row in rows) > COLLAPSE_AFTER
    hidden = 0
    for pos, row in rows:
        if row.status == "unchanged" and collapse:
            hidden += 1
            continue
        mark, style = ENTRY_MARK[row.status]
        key = row.entry.cmk if not is_pending(row.entry.cmk) else "(key created with the primary stack)"
        head = f"  {mark} {pos:>3}  " if column == 9 else f"{mark}{pos:>{max(1, column - 2)}} "
        head += row.entry.bucket
        if len(head) + 2 + len(key) <= o.out.width:
            say(o, (f"{head}  {key}", style))
        else:  # the key on a line of its own, whole
            say(o, (head, style), hang=column)
            value_line(o, key, style, preferred=column)
        if row.previous_cmk:
            say(o, ("        was ", "dim"), (row.previous_cmk, "dim"), hang=9)
    if hidden:
        say(o, (f"    {hidden} other developers unchanged", "dim"))
    if not rows:
        say(o, ("  (no developer registered)", "dim"))
    changed = d.changed_parameters
    say(o, f"  parameters changing: {', '.join(changed) if changed else 'none'}", hang=4)


def show_changes(o: Output, previews: Sequence[Preview]) -> None:
    """What CloudFormation will do, stack by stack, with the account and region of each."""
    shown = [p for p in previews if p.action != "none"]
    if not shown:
        return
    o.out.print()
    say(o, ("What CloudFormation will do", "bold"))
    for p in shown:
        where = f"{p.side} {p.account} {p.region}"
        name = f"{p.stack} (central)" if p.central else p.stack
        say(
            o,
            (where, "cyan"),
            "  ",
            (name, "bold"),
            ": ",
            (p.action, ACTION_STYLE.get(p.action, "")),
            f", from its {p.source}" if p.source != "change set" else ", change set",
            hang=4,
        )
        if p.note:
            say(o, ("  " + p.note, "dim"), hang=4)
        width = max([len(c.logical_id) for c in p.changes] + [10])
        for c in p.changes:
            repl = f" replacement={c.replacement}" if c.replacement and c.replacement != "False" else ""
            say(
                o,
                f"  {c.action:<7} {c.logical_id:<{width}} {c.resource_type}{repl}",
                (" (IAM/policy)", "magenta") if c.touches_policy else "",
                hang=10,
            )
        if not p.changes:
            say(o, ("  no resource changes listed", "dim"))


def summary(
    o: Output,
    plan: Plan,
    change: reg.Change,
    stacks: Iterable[Stacked] = (),
    *,
    bucket: str | None = None,
    applied: float | None = None,
    syncing: bool = False,
) -> None:
    """How it ended: how long applying took (and the whole run, questions and review included),
    where the developer's pipeline starts, and every stack touched with its ARN and console page."""
    # The stacks first: what changed and what to run next is the last thing on the screen.
    show_stacks(o, stacks)
    took = f" in {applied:.1f} s ({o.elapsed():.1f} s in all)" if applied is not None else f" in {o.elapsed():.1f} s"
    if plan.action == "onboard":
        o.out.print()
        say(o, ("Onboarded" + took + ".", "bold green"))
        say(o, f"  registered in {plan.central_stack} as developer {_position(change)}; replication is on", hang=4)
        say(o, f"  your pipeline triggers from s3://{bucket or plan.bucket}", hang=4)
        if not syncing:
            say(o, "  next: run your pipeline once from your fork, or wait for the next central build", hang=4)
    else:
        headline = "Removed" + took + "." if change.kind == "removed" else change.message + took + "."
        o.out.print()
        say(o, (headline, "bold green"))
        if change.kind == "removed":
            say(o, f"  {change.message}", hang=4)
        for note in plan.notes:
            say(o, f"  {note}", hang=4)


Stacked = tuple[str, str, str, StackState]  # (side, account, region, state)


def show_stacks(o: Output, stacks: Iterable[Stacked]) -> None:
    """Each stack the run touched: where, its status, its ARN and its page in the console."""
    rows = list(stacks)
    if not rows:
        return
    o.out.print()
    say(o, ("Stacks", "bold"))
    for side, account, region, state in rows:
        status = state.status or "DELETE_COMPLETE"
        style = "green" if status.endswith("_COMPLETE") and "ROLLBACK" not in status else "yellow"
        say(o, f"  {side} {account} {region}  ", (state.name, "bold"), "  ", (status, style), hang=4)
        if state.stack_id:
            value_line(o, state.stack_id, "dim")
            url = console_url(state.stack_id)
            if url and state.exists:
                # On a line of its own and never broken by us: the terminal's own wrap keeps it one
                # line to copy, and a terminal that supports links opens it on a click.
                o.out.print(Text("    ") + Text(url, style=Style(link=url, color="blue")), soft_wrap=True)


def _position(change: reg.Change) -> str:
    if change.entry is None:
        return "?"
    for i, e in enumerate(change.after.entries, 1):
        if e.bucket == change.entry.bucket:
            return f"{i} of {len(change.after.entries)}"
    return "?"


def show_grants(o: Output, found: Sequence[GrantChanges]) -> None:
    """IAM and policy statement changes, as `cdk diff` lists them: what each stack will grant (+)
    and stop granting (-): effect, principal, actions, resources, condition."""
    if not found:
        return
    o.out.print()
    say(o, ("Permissions these stacks grant and withdraw", "bold"))
    for change in found:
        say(o, (change.where, "cyan"), "  ", (change.stack, "bold"), hang=4)
        for mark, style, items in (("+", "green", change.added), ("-", "red", change.removed)):
            for g in items:
                say(o, (f"  {mark} ", style), f"{g.resource}: ", (g.effect, "bold"), f" {g.principal}", hang=6)
                say(o, f"      {', '.join(g.actions)}", hang=8)
                if g.targets:
                    say(o, f"      on {', '.join(g.targets)}", hang=8)
                if g.condition:
                    say(o, (f"      when {g.condition}", "dim"), hang=8)
