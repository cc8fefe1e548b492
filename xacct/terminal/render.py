"""What a person reads about a run: the plan, the changes CloudFormation prepared, status, verify
and the summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.markup import escape
from rich.table import Table

from xacct.core import registry as reg
from xacct.core.links import Link
from xacct.core.plan import Plan, is_pending
from xacct.core.state import Prepared
from xacct.terminal.output import Output

ACTION_STYLE = {"create": "green", "update": "yellow", "delete": "red", "none": "dim"}
COLLAPSE_AFTER = 6


def show_plan(o: Output, plan: Plan) -> None:
    verb = "Onboarding" if plan.action == "onboard" else "Removing"
    o.out.print(
        f"[bold]{verb}[/] developer account [bold]{plan.dev_account}[/] ({plan.dev_region}) "
        f"{'onto' if plan.action == 'onboard' else 'from'} build account [bold]{plan.build_account}[/] "
        f"({plan.build_region}), central stack [bold]{escape(plan.central_stack)}[/]"
    )
    table = Table(title="Developer account stacks", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("stack")
    table.add_column("action")
    table.add_column("")
    for step in plan.stacks:
        style = ACTION_STYLE.get(step.action, "")
        table.add_row(escape(step.stack), f"[{style}]{step.action}[/]", escape(step.detail))
    o.out.print(table)
    show_entries(o, plan)
    key = plan.cmk if not is_pending(plan.cmk) else "created with the primary stack"
    o.out.print(f"Developer bucket: [bold]{escape(plan.bucket)}[/]; key: {escape(str(key))}")
    for c in plan.emptied:
        held = f"{c.versions} object versions, deleted with it" if c.versions else "empty"
        o.out.print(f"[bold]purge:[/] {escape(c.bucket)} holds {held}")
    for note in plan.notes:
        o.out.print(f"[dim]note:[/] {escape(note)}")


def show_entries(o: Output, plan: Plan) -> None:
    d = plan.diff
    o.out.print(f"\n[bold]Central replication lists[/] ({escape(plan.change.message)})")
    enable_before, enable_after = d.parameters[reg.ENABLE]
    if enable_before != enable_after:
        o.out.print(f"  EnableReplication: [red]{escape(enable_before)}[/] -> [green]{escape(enable_after)}[/]")
    else:
        o.out.print(f"  EnableReplication: {escape(enable_after)}")
    rows = list(enumerate(d.entries, 1))
    unchanged = [r for r in rows if r[1].status == "unchanged"]
    collapse = len(unchanged) > COLLAPSE_AFTER
    hidden = 0
    for pos, row in rows:
        if row.status == "unchanged" and collapse:
            hidden += 1
            continue
        mark, style = {
            "unchanged": (" ", "dim"),
            "added": ("+", "green"),
            "removed": ("-", "red"),
            "key-replaced": ("~", "yellow"),
        }[row.status]
        key = row.entry.cmk if not is_pending(row.entry.cmk) else "(key created with the primary stack)"
        line = f"  {mark} {pos:>3}  {row.entry.bucket}  {key}"
        if len(line) <= o.out.width:
            o.out.print(f"[{style}]{escape(line)}[/]", highlight=False)
        else:  # a narrow terminal: the key on a line of its own rather than broken mid-ARN
            o.out.print(f"[{style}]  {mark} {pos:>3}  {escape(row.entry.bucket)}[/]", highlight=False)
            o.out.print(f"[{style}]{' ' * 9}{escape(key)}[/]", highlight=False, overflow="fold")
        if row.previous_cmk:
            o.out.print(f"  [dim]        was {escape(row.previous_cmk)}[/]")
    if hidden:
        o.out.print(f"  [dim]  {hidden} other developers unchanged[/]")
    if not rows:
        o.out.print("  [dim](no developer registered)[/]")
    changed = d.changed_parameters
    o.out.print(f"  parameters changing: {', '.join(changed) if changed else 'none'}")


def show_changes(o: Output, prepared: Mapping[str, Prepared]) -> None:
    for name, p in prepared.items():
        if p.action == "none":
            continue
        o.out.print(f"\n[bold]{escape(name)}[/]: CloudFormation will {p.action}")
        for c in p.changes:
            flag = " [magenta](IAM/policy)[/]" if c.touches_policy else ""
            repl = f" replacement={c.replacement}" if c.replacement and c.replacement != "False" else ""
            o.out.print(f"  {c.action:<7} {escape(c.logical_id)} {c.resource_type}{repl}{flag}")


def show_status(o: Output, data: Mapping[str, Any]) -> None:
    c = data["central"]
    state = "[green]on[/]" if data["replication"] else "[yellow]off[/]"
    o.out.print(
        f"Central stack [bold]{escape(str(c['stack']))}[/] in {escape(str(c['account']))} "
        f"({escape(str(c['region']))}): replication {state}"
    )
    table = Table(show_edge=False, pad_edge=False)
    for col in ("#", "account", "region", "bucket", "key"):
        table.add_column(col, overflow="fold")
    for d in data["developers"]:
        table.add_row(
            str(d["position"]),
            escape(d["account"] or "?"),
            escape(d["region"] or "?"),
            escape(d["bucket"]),
            escape(d["cmk"]),
        )
    if data["developers"]:
        o.out.print(table)
    else:
        o.out.print("  no developer is registered")
    cap = data["capacity"]
    o.out.print(
        f"Capacity: {cap['registered']} registered, about {cap['fits']} fit within CloudFormation's "
        f"4,096-byte parameter limit ({max(cap['fits'] - cap['registered'], 0)} more)"
    )


def show_verify(o: Output, links: list[Link], orphans: list[str], remove: str, onboard: str) -> None:
    for link in links:
        mark = "[green]ok[/]    " if link.ok else "[bold red]broken[/]"
        o.out.print(f"{mark} {escape(link.name)}: {escape(link.detail)}")
        if not link.ok and link.fix:
            o.out.print(f"         fix: {escape(link.fix)}")
    for bucket in orphans:
        o.out.print(f"[bold yellow]orphan[/] {escape(bucket)} is registered but its bucket or stack no longer exists")
        o.out.print(f"         fix: {escape(remove)} --orphan {bucket}")
    if any(not link.ok for link in links):
        o.out.print(f"\nTo onboard again: {escape(onboard)}")
    elif not orphans:
        o.out.print("\n[bold green]Every link holds.[/]")


def summary(o: Output, plan: Plan, change: reg.Change, bucket: str | None = None) -> None:
    if plan.action == "onboard":
        o.out.print("\n[bold green]Onboarded.[/]")
        o.out.print(f"  registered in {escape(plan.central_stack)} as developer {_position(change)}; replication is on")
        o.out.print(f"  your pipeline triggers from s3://{escape(bucket or plan.bucket)}")
        o.out.print("  next: run your pipeline once from your fork, or wait for the next central build")
    else:
        o.out.print("\n[bold green]Removed.[/]" if change.kind == "removed" else f"\n{escape(change.message)}")
        if change.kind == "removed":
            o.out.print(f"  {escape(change.message)}")
        for note in plan.notes:
            o.out.print(f"  {escape(note)}")


def _position(change: reg.Change) -> str:
    if change.entry is None:
        return "?"
    for i, e in enumerate(change.after.entries, 1):
        if e.bucket == change.entry.bucket:
            return f"{i} of {len(change.after.entries)}"
    return "?"
