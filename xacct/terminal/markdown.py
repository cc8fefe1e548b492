"""A plan as Markdown (`--dry-run --markdown`), for a pull request that puts onboarding behind
review: what each stack will do and the central lists before and after. Pure: from the plan's
JSON, the same document `--json` prints."""

from __future__ import annotations

from typing import Any

from xacct.core.words import counted


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|")


def onboarding(
    plan: dict[str, Any], changes: list[dict[str, Any]] | None = None, permissions: list[dict[str, Any]] | None = None
) -> str:
    """The plan; with `changes` (each stack's resources as the dry run previews them) and
    `permissions` (the grants added and withdrawn), what a reviewer approves, as the review shows it."""
    central, dev = plan["central"], plan["developer"]
    lines = [
        f"### xacct: {plan['action']} developer account {dev['account']} ({dev['region']})",
        "",
        f"Central stack **{central['stack']}** in build account {central['account']} ({central['region']}): "
        f"{_cell(central['message'])}.",
        "",
        "| Developer stack | Action |",
        "| --- | --- |",
        *(f"| {_cell(s['name'])} | {s['action']} |" for s in dev["stacks"]),
        "",
        "| # | Central entry | Key | Change |",
        "| --- | --- | --- | --- |",
        *(
            f"| {n} | `{_cell(e['bucket'])}` | `{_cell(e['cmk'])}` | {e['status']} |"
            for n, e in enumerate(central["entries"], 1)
        ),
        "",
        "Parameters changing: "
        + (", ".join(f"`{k}`" for k, v in central["parameters"].items() if v["before"] != v["after"]) or "none"),
    ]
    if changes:
        lines += ["", "#### What CloudFormation will do", "", "| Where | Stack | Change | Resource | Type | Replaced |"]
        lines += ["| --- | --- | --- | --- | --- | --- |"]
        for stack in changes:
            where = f"{stack['side']} {stack['account']} {stack['region']}"
            rows = stack["changes"] or [{"action": stack["action"], "logical_id": "", "type": "", "replacement": ""}]
            lines += [
                f"| {where} | {_cell(stack['stack'])} | {c['action']} | {_cell(c['logical_id'])} | {c['type']} | "
                f"{c['replacement'] or ''} |"
                for c in rows
            ]
    if permissions:
        lines += ["", "#### Permissions granted (+) and withdrawn (-)", ""]
        lines += ["| | Where | Stack | Policy of | Effect | Principal | Actions | On | Condition |"]
        lines += ["| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for group in permissions:
            for sign, grants in (("+", group["added"]), ("-", group["removed"])):
                lines += [
                    f"| {sign} | {_cell(group['where'])} | {_cell(group['stack'])} | {_cell(g['resource'])} | "
                    f"{g['effect']} | {_cell(g['principal'])} | {_cell(', '.join(g['actions']))} | "
                    f"{_cell(', '.join(g['targets']))} | {_cell(g['condition'] or '')} |"
                    for g in grants
                ]
    return "\n".join(lines) + "\n"


def fleet(plan: dict[str, Any]) -> str:
    central = plan["central"]
    before = set(central["before"])
    lines = [
        f"### xacct: onboard {counted(len(plan['developers']), 'developer')} (one central change set)",
        "",
        "| Developer account | Region | Bucket | Stacks |",
        "| --- | --- | --- | --- |",
        *(
            f"| {d['account']} | {d['region']} | `{_cell(d['bucket'])}` | "
            + ", ".join(f"{_cell(name)}: {action}" for name, action in d["stacks"].items())
            + " |"
            for d in plan["developers"]
        ),
        "",
        f"Central lists: {len(central['before'])} registered, {len(central['after'])} after.",
        "",
        "| # | Central entry | Change |",
        "| --- | --- | --- |",
        *(
            f"| {n} | `{_cell(b)}` | {'unchanged' if b in before else 'added'} |"
            for n, b in enumerate(central["after"], 1)
        ),
    ]
    return "\n".join(lines) + "\n"
