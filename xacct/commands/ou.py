"""`--ou OU_ID`: an organizational unit's developers, through a service-managed stack set.

First it reads: who the organization profile is (management account or delegated administrator
for StackSets), trusted access, the OU's active accounts at any depth, what the OU's stack set
already reaches, and the central lists; then the plan (accounts joining, staying and leaving, stack
instances to create and remove, the central buckets before and after). Each bad input is refused
before anything is written, with its fix. Applying it is ou_apply.py."""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions as bx

from xacct.aws import organization
from xacct.aws.gateway import Gateway
from xacct.aws.reads import BuildContext
from xacct.commands import common
from xacct.config import write_plan
from xacct.core import ou_plan
from xacct.core.answers import Answers, Central
from xacct.core.planning import check_central
from xacct.core.preview import ou_total
from xacct.core.request import Request
from xacct.core.saved import Saved, central_inputs, check_current, check_plan, templates
from xacct.core.state import StackState
from xacct.errors import ExitCode
from xacct.terminal import render
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress
from xacct.terminal.render import say


def run(central: Central, request: Request, o: Output, saved: Saved | None = None) -> int:
    assert request.ou is not None
    region = request.given.dev_region or central.build.region
    org_gw = Gateway(request.org_profile or central.build.profile, central.build.region, "organization")
    with common.waiting(o, f"reading the organization and OU {request.ou}"):
        view = organization.read(org_gw, request.ou)
    bctx = BuildContext(central, LineProgress(o.err))
    with common.waiting(o, "reading the central stack and the OU's stack sets"):
        bctx.build.check_account(central.build.account)
        central_state = bctx.build_stacks().describe(central.stack)
        registry = check_central(central, central_state)
        members = {m.account for m in view.members}
        buckets = {e.bucket for e in registry.entries}
        candidates = {ou_plan.account_of(e) for e in registry.entries} - members
        candidates = {a for a in candidates if ou_plan.bucket_of(a, region) in buckets}
        instances, removed = reached(org_gw.cfn, ou_plan.stack_set_name(view.ou), region, view.call_as, candidates)
    plan = ou_plan.plan(
        view.ou, view.ou_name, region, view.call_as,
        members=[m.account for m in view.members], registry=registry, instances=instances, removed=removed,
        removing=request.mode == "remove",
    )  # fmt: skip
    document = {**plan.to_json(), "organization": view.organization, "management_account": view.management}
    document["stack_set_action"] = stack_set_action(org_gw, view, bctx, central_state, request)
    document["operation_preferences"] = preferences(request)
    computed = {
        "central": central_inputs(central_state),
        "organization": {"members": sorted(m.account for m in view.members), "call_as": view.call_as},
        "stack_set": {"instances": dict(sorted(instances.items())), "removed": removed},
        "templates": templates(),
    }
    if saved is not None:
        check_current(saved, computed, str(request.apply_plan))
        check_plan(saved, document, str(request.apply_plan))
    if request.markdown:
        o.out.file.write(markdown(document))
    elif request.json:
        o.out.file.write(json.dumps(document, indent=2) + "\n")
    else:
        show(o, plan, view, str(document["stack_set_action"]))
    if request.dry_run:
        if not (request.json or request.markdown):
            o.out.print("\n[dim]dry run: nothing was changed[/]")
        if request.out is not None:
            flags = {"ou": view.ou, "org_profile": request.org_profile, "max_concurrent": request.max_concurrent,
                     "failure_tolerance": request.failure_tolerance}  # fmt: skip
            build = Answers(central.build.account, central.build.region, central.build.profile,
                            dev_region=region, central_stack=central.stack)  # fmt: skip
            write_plan(request.out, Saved((build,), computed, document, ou=flags))
            o.info(f"plan saved to {request.out}: apply it with --apply {request.out}")
        return ExitCode.OK
    if plan.nothing_to_do and request.mode != "remove" and document["stack_set_action"] == "none":
        return ExitCode.OK
    verb = "Take out" if request.mode == "remove" else "Onboard"
    if not request.yes:
        render.total(o, ou_total(document))
    if not request.yes and not common.confirm(f"{verb} OU {view.ou} as planned?"):
        o.out.print("Declined: nothing was changed.")
        return ExitCode.OK
    from xacct.commands import ou_apply

    job = ou_apply.Job(plan, view, bctx, org_gw, o.info, preferences(request))
    return applied(o, request, job, central_state)


def applied(o: Output, request: Request, job: Any, central_state: StackState) -> int:
    from xacct.commands import ou_apply

    plan, bctx = job.plan, job.bctx
    done = ou_apply.remove(job) if request.mode == "remove" else ou_apply.apply(job, central_state)
    change = done.change
    o.out.print()
    if request.mode == "remove":
        gone = len(change.before.entries) - len(change.after.entries) if change else 0
        say(o, ("Taken out: ", "bold"), f"OU {plan.ou}: {gone} entries removed from {bctx.central.stack}")
    else:
        say(o, ("Onboarded: ", "bold"), f"OU {plan.ou} ({plan.ou_name}): {len(done.registered)} joined, "
            f"{len(plan.leaving)} left; {change.message if change else 'central lists unchanged'}")  # fmt: skip
    for account, reason in sorted(done.failed.items()):
        say(o, f"  not registered: {account}: {reason}", hang=4)
    for account in done.lingering:
        say(o, f"  {account} left the OU but its stack instance remains in {ou_plan.stack_set_name(plan.ou)}; "
            "delete it in the StackSets console (its stack no longer holds a registered bucket)", hang=4)  # fmt: skip
    if done.failed:
        say(o, f"  next: fix the cause, then run the same command again: {request.prog} --ou {plan.ou} --yes", hang=4)
    if request.mode != "remove" and done.registered and not request.no_sync:
        from xacct.commands import sync

        sync.start_batch(o, bctx, bctx.central.stack, [ou_plan.bucket_of(a, plan.region) for a in done.registered])
    return ExitCode.AWS_FAILED if done.failed or done.lingering else ExitCode.OK


def preferences(request: Request) -> dict[str, Any]:
    """StackSets' operation preferences from the flags: many accounts at once, and a failure in one
    account does not stop the others (SOFT_FAILURE_TOLERANCE lets concurrency pass the tolerance)."""
    return {
        "MaxConcurrentCount": request.max_concurrent,
        "FailureToleranceCount": request.failure_tolerance,
        "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
        "RegionConcurrencyType": "PARALLEL",
    }


def reached(cfn: Any, name: str, region: str, call_as: str, candidates: set[str]) -> tuple[dict[str, str], list[str]]:
    """The stack set's instances in `region` (account -> detailed status), and which of the
    `candidates` (registered, not beneath the OU, without an instance) StackSets itself took out: a
    DELETE operation's SUCCEEDED result for it, not created again since. Operations are read newest
    first, and only until every candidate is decided (none: none are read). Nothing when the stack
    set does not exist yet."""
    from xacct.aws import stacksets

    listed = stacksets.StackSet(cfn, name, call_as, region, preferences={}, said=lambda _: None).instances()
    instances = {a: str(i.get("StackInstanceStatus", {}).get("DetailedStatus", "")) for a, i in listed.items()}
    try:
        open_ = candidates - set(instances)
        if not open_:
            return instances, []
        operations = [
            op for page in cfn.get_paginator("list_stack_set_operations").paginate(StackSetName=name, CallAs=call_as)
            for op in page["Summaries"]
        ]  # fmt: skip
    except bx.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "StackSetNotFoundException":
            return {}, []
        raise
    decided: dict[str, bool] = {}
    for op in sorted(operations, key=lambda o: o["CreationTimestamp"], reverse=True):
        if open_ <= set(decided):
            break
        pages = cfn.get_paginator("list_stack_set_operation_results").paginate(
            StackSetName=name, OperationId=op["OperationId"], CallAs=call_as
        )
        for page in pages:
            for result in page["Summaries"]:
                if result.get("Region") == region and result.get("Status") == "SUCCEEDED":
                    decided.setdefault(str(result["Account"]), op["Action"] == "DELETE")
    return instances, [a for a in sorted(open_) if decided.get(a)]


def stack_set_action(
    org_gw: Gateway, view: organization.OrgView, bctx: BuildContext, central: StackState, request: Request
) -> str:
    """What the run does to the stack set itself: create it, update every instance to this
    version's template or parameters, delete it (--remove), or nothing."""
    from xacct.aws import stacksets
    from xacct.commands import ou_apply

    ss = stacksets.StackSet(
        org_gw.cfn, ou_plan.stack_set_name(view.ou), view.call_as, "", preferences={}, said=lambda _: None
    )
    current = ss.describe()
    if request.mode == "remove":
        return "delete" if current is not None else "none"
    if current is None:
        return "create"
    wanted = ou_apply.parameters(bctx, central)
    held = {p["ParameterKey"]: p.get("ParameterValue", "") for p in current.get("Parameters", [])}
    same = current.get("TemplateBody") == ou_apply.member_stack() and all(held.get(k) == v for k, v in wanted.items())
    return "none" if same else "update every instance"


def show(o: Output, plan: ou_plan.OuPlan, view: organization.OrgView, action: str = "none") -> None:
    caller = "the management account" if view.call_as == "SELF" else "a delegated administrator for StackSets"
    say(o, ("OU ", "bold"), f"{plan.ou} ({plan.ou_name}) of organization {view.organization}: "
        f"{len(plan.members)} active accounts beneath it; read as {caller} ({view.caller})")  # fmt: skip
    doing = {"none": "as it is", "create": "to create", "delete": "to delete"}.get(action, f"to {action}")
    say(o, f"  stack set {ou_plan.stack_set_name(plan.ou)} ({doing}), instances in {plan.region}")
    for label, accounts in (
        ("joining (registered after their stacks succeed)", plan.joining),
        ("staying", plan.staying),
        ("leaving (entry removed)", plan.leaving),
        ("stack instances to create", plan.create),
        ("stack instances to remove", plan.remove),
    ):
        shown = ", ".join(accounts[:12]) + (f", and {len(accounts) - 12} more" if len(accounts) > 12 else "")
        say(o, f"  {label}: {len(accounts)}" + (f": {shown}" if accounts else ""), hang=4)
    say(o, f"  central buckets: {len(plan.before)} before, {len(plan.after)} after", hang=4)
    if plan.nothing_to_do and action == "none":
        o.out.print("\n[bold green]Nothing to do:[/] the OU's accounts are registered and deployed.")


def markdown(document: dict[str, Any]) -> str:
    lines = [
        f"## xacct: OU {document['ou']} ({document['ou_name']})",
        "",
        f"Organization {document['organization']}; stack set `{document['stack_set']}`, instances in "
        f"{document['region']}",
        "",
        "| | accounts |",
        "| --- | --- |",
    ]
    for key in ("accounts_joining", "accounts_staying", "accounts_leaving", "stack_instances_to_create",
                "stack_instances_to_remove"):  # fmt: skip
        values = document[key]
        lines.append(f"| {key.replace('_', ' ')} | {len(values)}: {', '.join(values) if values else '-'} |")
    before, after = document["central_buckets_before"], document["central_buckets_after"]
    lines += ["", f"Central buckets: {len(before)} before, {len(after)} after.", ""]
    return "\n".join(lines)
