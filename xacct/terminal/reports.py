"""What a person reads from `--status` and `--verify`, fitted to the terminal like the plan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xacct.core.deliveries import WINDOW_DAYS
from xacct.core.links import Link
from xacct.terminal.output import Output
from xacct.terminal.render import say, value_line


def show_status(o: Output, data: Mapping[str, Any]) -> None:
    c = data["central"]
    on = data["replication"]
    say(
        o,
        "Central stack ",
        (str(c["stack"]), "bold"),
        f" in {c['account']} ({c['region']}): replication ",
        ("on", "green") if on else ("off", "yellow"),
    )
    developers = data["developers"]
    if not developers:
        say(o, "  no developer is registered")
    for d in developers:
        head = f"  {d['position']:>3}  {d['account'] or '?'}  {d['region'] or '?'}  {d['bucket']}"
        if len(head) + 2 + len(d["cmk"]) <= o.out.width:
            say(o, f"{head}  {d['cmk']}")
        else:
            say(o, head, hang=7)
            value_line(o, d["cmk"], "dim", preferred=7)
        show_arrivals(o, d)
    show_joining(o, data.get("joining"))
    show_alerts(o, data.get("alerts"), data["developers"])
    cap = data["capacity"]
    fullest = max(cap.get("limits") or [{}], key=lambda u: u.get("used", 0) / max(u.get("limit", 1), 1))
    say(
        o,
        f"Capacity: {cap['registered']} registered, about {cap['fits']} fit "
        f"({max(cap['fits'] - cap['registered'], 0)} more): {cap.get('in_the_four_lists', 0)} in the four lists, "
        "the rest in ReplicationMore01-10 with account-bounded grants"
        + (
            f"; fullest: {fullest['what']}, {fullest['used']:,} of {fullest['limit']:,} {fullest['unit']}"
            if fullest
            else ""
        ),
    )


def show_alerts(o: Output, alerts: Mapping[str, Any] | None, developers: list[Mapping[str, Any]]) -> None:
    """The delivery alarms, since when, who is failing and who hears of it."""
    if not alerts:
        return
    if alerts.get("unreadable"):
        say(o, (f"Alerts: unknown, the alarms could not be read ({alerts['unreadable']})", "dim"))
        return
    if not alerts.get("set_up"):
        say(o, "Alerts: none (the central stack predates them: --alerts EMAIL adds the topic and alarms in place)")
        return
    for alarm in alerts["alarms"]:
        state = str(alarm["state"])
        style = {"ALARM": "red", "OK": "green"}.get(state, "yellow")
        say(o, "Alarm ", (alarm["name"], "bold"), ": ", (state, style), f" since {alarm['since']}", hang=2)
    failing = alerts.get("failing") or []
    if failing:
        buckets = {d["account"]: d["bucket"] for d in developers}
        who = ", ".join(f"{a} ({buckets.get(a, '?')})" for a in failing)
        say(o, ("  failing now: ", "red"), who, " (--verify --dev-account ACCOUNT says why)", hang=4)
    pending = " (pending: its owner has not confirmed SNS's mail yet)"
    subscribers = [s for s in alerts.get("subscribers") or [] if s.get("endpoint")]
    told = [f"{s['endpoint']}{pending if s.get('pending') else ''}" for s in subscribers]
    say(
        o,
        "  told: ",
        ", ".join(told) or "no one (--alerts EMAIL|TOPIC_ARN)",
        hang=4,
    )


def show_joining(o: Output, joining: Mapping[str, Any] | None) -> None:
    if not joining:
        return
    if not joining["on"]:
        say(o, "Joining: off (--enable-joining OU_ID lets developers of an OU join on their own)")
        return
    waiting = joining["waiting"]
    count = "unknown (the inbox could not be listed)" if waiting is None else str(waiting)
    say(
        o,
        ("Joining: on", "green"),
        f" for {', '.join(joining['who'])}, registered {joining['approval']}; requests waiting: {count}"
        + (" (--requests lists them)" if waiting else ""),
    )


def show_arrivals(o: Output, d: Mapping[str, Any], indent: str = "       ") -> None:
    """The last artifact a developer received and the last delivery that failed, when known."""
    last, failed = d.get("last_delivery"), d.get("last_failure")
    if d.get("unreadable"):
        say(o, (f"{indent}deliveries unknown: the function's log could not be read ({d['unreadable']})", "dim"))
        return
    if last:
        say(o, f"{indent}last delivery: {last['artifact']} ({last['at']})", hang=len(indent) + 2)
    if failed:
        say(
            o,
            f"{indent}",
            ("last failure:", "bold red"),
            f" {failed['artifact']} ({failed['at']}): {failed['reason']}",
            hang=len(indent) + 2,
        )
    if "last_delivery" in d and not last and not failed:
        say(o, (f"{indent}nothing delivered in the last {WINDOW_DAYS} days", "dim"))


def show_verify(o: Output, links: list[Link], orphans: list[str], remove: str, onboard: str) -> None:
    for link in links:
        mark = ("ok    ", "green") if link.ok else ("broken", "bold red")
        say(o, mark, f" {link.name}: {link.detail}", hang=9)
        if not link.ok and link.fix:
            say(o, f"         fix: {link.fix}", hang=14)
    for bucket in orphans:
        say(o, ("orphan", "bold yellow"), f" {bucket} is registered but its bucket or stack no longer exists", hang=9)
        say(o, f"         fix: {remove} --orphan {bucket}", hang=14)
    if any(not link.ok for link in links):
        o.out.print()
        say(o, f"To onboard again: {onboard}", hang=4)
    elif not orphans:
        o.out.print()
        say(o, ("Every link holds.", "bold green"))
