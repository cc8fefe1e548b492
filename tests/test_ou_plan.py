"""The OU plan (xacct/core/ou_plan.py), over random organizations: the OU's members joined, its
leavers gone only on StackSets' evidence, and every other developer's entry kept, in order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from xacct.core import ou_plan
from xacct.core import registry as reg

REGION = "eu-west-1"
ACCOUNTS = [f"3000000000{n:02d}" for n in range(30)]


def entry(account: str, standard: bool = True) -> reg.Entry:
    bucket = ou_plan.bucket_of(account, REGION) if standard else f"team-artifacts-{account}"
    return reg.Entry(bucket, f"arn:aws:s3:::{bucket}/*", f"arn:aws:kms:{REGION}:{account}:key/k-{account}")


@st.composite
def organizations(draw: st.DrawFn) -> tuple[list[str], reg.Registry, dict[str, str], list[str]]:
    accounts = draw(st.permutations(ACCOUNTS))
    members = accounts[: draw(st.integers(0, 12))]
    registered = draw(st.lists(st.sampled_from(ACCOUNTS), unique=True, max_size=20))
    odd = set(draw(st.lists(st.sampled_from(ACCOUNTS), max_size=4)))  # a bucket of their own naming
    registry = reg.Registry(True, tuple(entry(a, a not in odd) for a in registered))
    reached = draw(st.lists(st.sampled_from(ACCOUNTS), unique=True, max_size=15))
    statuses = st.sampled_from(["SUCCEEDED", "FAILED", "CANCELLED"])
    instances = {a: draw(statuses) for a in reached[: len(reached) // 2]}
    removed = reached[len(reached) // 2 :]
    return members, registry, instances, removed


def planned(org: tuple[list[str], reg.Registry, dict[str, str], list[str]], removing: bool = False) -> ou_plan.OuPlan:
    members, registry, instances, removed = org
    return ou_plan.plan(
        "ou-ab12-cdefgh34", "developers", REGION, "SELF",
        members=members, registry=registry, instances=instances, removed=removed, removing=removing,
    )  # fmt: skip


@given(organizations())
def test_every_entry_the_ou_never_reached_is_kept_in_order(org: tuple) -> None:  # type: ignore[type-arg]
    members, registry, instances, removed = org
    p = planned(org)
    reached = set(members) | set(instances) | set(removed)
    others = [e.bucket for e in registry.entries if ou_plan.account_of(e) not in reached]
    assert [b for b in p.after if b in others] == others
    assert len(p.after) == len(set(p.after))


@given(organizations())
def test_every_member_ends_registered_and_only_reached_non_members_leave(org: tuple) -> None:  # type: ignore[type-arg]
    members, _, instances, removed = org
    p = planned(org)
    for account in members:
        assert ou_plan.bucket_of(account, REGION) in p.after
        assert account not in p.leaving
    for account in p.leaving:
        assert account in instances or account in removed
        assert ou_plan.bucket_of(account, REGION) not in p.after
    assert set(p.joining).isdisjoint(p.staying)
    assert [*p.after[len(p.after) - len(p.joining) :]] == [ou_plan.bucket_of(a, REGION) for a in p.joining]


@given(organizations())
def test_every_member_without_a_good_instance_gets_one_and_leavers_lose_theirs(org: tuple) -> None:  # type: ignore[type-arg]
    members, _, instances, _ = org
    p = planned(org)
    assert set(p.create) == {a for a in members if instances.get(a) != "SUCCEEDED"}
    assert set(p.remove) == set(instances) - set(members)


@given(organizations())
def test_removing_the_ou_takes_out_what_it_reached_and_nothing_else(org: tuple) -> None:  # type: ignore[type-arg]
    members, registry, instances, removed = org
    p = planned(org, removing=True)
    reached = set(members) | set(instances) | set(removed)
    kept = [
        e.bucket
        for e in registry.entries
        if ou_plan.account_of(e) not in reached or e.bucket != ou_plan.bucket_of(ou_plan.account_of(e), REGION)
    ]
    assert list(p.after) == kept
    assert set(p.remove) == set(instances)
    assert not p.joining
    assert not p.create


def test_a_second_run_with_nothing_changed_has_nothing_to_do() -> None:
    members = ACCOUNTS[:3]
    registry = reg.Registry(True, tuple(entry(a) for a in [ACCOUNTS[10], *members]))
    p = ou_plan.plan(
        "ou-ab12-cdefgh34", "developers", REGION, "SELF",
        members=members, registry=registry, instances=dict.fromkeys(members, "SUCCEEDED"),
    )  # fmt: skip
    assert p.nothing_to_do
    assert p.after == p.before


def test_the_ou_confirmation_total_counts_what_the_plan_holds() -> None:
    from xacct.core.preview import ou_total

    document = {
        "accounts_joining": ["1", "2", "3"],
        "accounts_leaving": ["4"],
        "stack_instances_to_create": ["1", "2", "3"],
        "stack_instances_to_remove": ["4"],
        "stack_set_action": "create",
    }
    assert ou_total(document) == (
        "Plan: 3 accounts joining, 1 leaving: 3 stack instances to create, 1 to remove (stack set: create); "
        "central: one change set"
    )
