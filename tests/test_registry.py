"""The replication registry: parse, merge, remove, render and limits, exactly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xacct.core import capacity, limits, plan
from xacct.core import registry as reg
from xacct.errors import InvalidInput

HEX = "0123456789abcdef"
bucket_names = st.from_regex(r"\A[a-z0-9][a-z0-9-]{1,40}[a-z0-9]\Z").filter(lambda b: reg.bucket_problem(b) is None)
partitions = st.sampled_from(["aws", "aws-cn", "aws-us-gov"])
regions = st.sampled_from(["us-east-1", "eu-west-2", "cn-north-1", "us-gov-west-1", "ap-southeast-5"])
accounts = st.from_regex(r"\A\d{12}\Z")
uuids = st.uuids().map(str)
mrks = st.text(HEX, min_size=32, max_size=32).map(lambda h: f"mrk-{h}")


@st.composite
def entries(draw: st.DrawFn) -> reg.Entry:
    bucket = draw(bucket_names)
    part = draw(partitions)
    key = f"arn:{part}:kms:{draw(regions)}:{draw(accounts)}:key/{draw(st.one_of(uuids, mrks))}"
    return reg.Entry(bucket, f"arn:{draw(partitions)}:s3:::{bucket}/*", key)


@st.composite
def tables(draw: st.DrawFn, max_size: int = 8) -> reg.Registry:
    items = draw(st.lists(entries(), max_size=max_size, unique_by=lambda e: e.bucket))
    return reg.Registry(enabled=draw(st.booleans()) if items else False, entries=tuple(items))


@given(tables(), entries())
def test_merge_is_idempotent(t: reg.Registry, e: reg.Entry) -> None:
    once = reg.merge(t, e).after
    assert reg.merge(once, e).after == once
    assert not reg.merge(once, e).changes_anything


@given(tables(), entries())
def test_remove_undoes_merge_of_a_new_developer(t: reg.Registry, e: reg.Entry) -> None:
    if e.bucket in t.buckets or (not t.enabled and t.entries):
        return
    merged = reg.merge(t, e).after
    back = reg.remove(merged, bucket=e.bucket).after
    assert back.entries == t.entries
    assert back.enabled == bool(t.entries)


@given(tables(), entries())
def test_merge_never_moves_or_changes_another_entry(t: reg.Registry, e: reg.Entry) -> None:
    after = reg.merge(t, e).after
    for i, old in enumerate(t.entries):
        if old.bucket != e.bucket:
            assert after.entries[i] == old
    assert after.enabled
    assert after.buckets.count(e.bucket) == 1


@given(tables(), st.data())
def test_remove_takes_exactly_one_entry(t: reg.Registry, data: st.DataObject) -> None:
    if not t.entries:
        return
    gone = data.draw(st.sampled_from(t.entries))
    after = reg.remove(t, bucket=gone.bucket).after
    assert after.entries == tuple(x for x in t.entries if x != gone)
    assert after.enabled == (t.enabled and bool(after.entries))


@given(tables())
def test_parse_render_round_trip(t: reg.Registry) -> None:
    assert reg.parse(reg.render(t)) == t


@given(tables(max_size=5), st.integers(0, 2), st.data())
def test_any_length_mismatch_is_refused(t: reg.Registry, which: int, data: st.DataObject) -> None:
    values = reg.render(t)
    name = (reg.BUCKETS, reg.STAR_ARNS, reg.CMKS)[which]
    extra = data.draw(entries())
    values[name] = ",".join(filter(None, [values[name], (extra.bucket, extra.star_arn, extra.cmk)[which]]))
    with pytest.raises(InvalidInput, match="unequal lengths"):
        reg.parse(values)


@given(tables(max_size=5).filter(lambda t: len(t.entries) >= 2), st.data())
def test_a_star_arn_of_another_bucket_is_refused(t: reg.Registry, data: st.DataObject) -> None:
    values = reg.render(t)
    stars = values[reg.STAR_ARNS].split(",")
    i = data.draw(st.integers(0, len(stars) - 2))
    stars[i], stars[i + 1] = stars[i + 1], stars[i]
    values[reg.STAR_ARNS] = ",".join(stars)
    with pytest.raises(InvalidInput, match=f"position {i + 1}"):
        reg.parse(values)


# ---- hand-written awkward inputs ---------------------------------------------------------

K1 = "arn:aws:kms:us-east-1:222222222222:key/11111111-2222-3333-4444-555555555555"
K2 = "arn:aws:kms:us-east-1:333333333333:key/mrk-0123456789abcdef0123456789abcdef"


def params(enable: str, buckets: str, stars: str, cmks: str) -> dict[str, str]:
    return {reg.ENABLE: enable, reg.BUCKETS: buckets, reg.STAR_ARNS: stars, reg.CMKS: cmks}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            params("true", "a-bucket, b-bucket", "arn:aws:s3:::a-bucket/*, arn:aws:s3:::b-bucket/*", f"{K1}, {K2}"),
            ["a-bucket", "b-bucket"],
        ),
        (
            params("true", "a-bucket,b-bucket,", "arn:aws:s3:::a-bucket/*,arn:aws:s3:::b-bucket/*,", f"{K1},{K2},"),
            ["a-bucket", "b-bucket"],
        ),
        (params("false", "", "", ""), []),
        (params("false", " , ", "", ","), []),
        (params("false", "a-bucket", "arn:aws:s3:::a-bucket/*", K1), ["a-bucket"]),  # paused, entries kept
        (
            params(
                "TRUE",
                "a-bucket",
                "arn:aws-cn:s3:::a-bucket/*",
                "arn:aws-cn:kms:cn-north-1:222222222222:key/11111111-2222-3333-4444-555555555555",
            ),
            ["a-bucket"],
        ),
        (
            params(
                "true",
                "a.b-c",
                "arn:aws-us-gov:s3:::a.b-c/*",
                "arn:aws-us-gov:kms:us-gov-west-1:222222222222:key/mrk-0123456789ABCDEF0123456789abcdef",
            ),
            ["a.b-c"],
        ),
    ],
)
def test_awkward_but_interpretable_input(raw: dict[str, str], expected: list[str]) -> None:
    t = reg.parse(raw)
    assert t.buckets == expected
    assert reg.parse(reg.render(t)) == t
    assert " " not in "".join(reg.render(t).values())


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (params("true", "a-bucket,b-bucket", "arn:aws:s3:::a-bucket/*", K1), "unequal lengths"),
        (params("true", "A-Bucket", "arn:aws:s3:::A-Bucket/*", K1), "not a valid bucket name"),
        (params("true", "a-bucket", "ARN:AWS:S3:::a-bucket/*", K1), "position 1"),
        (params("true", "a-bucket", "arn:aws:s3:::a-bucket", K1), "is not arn:aws:s3:::a-bucket/"),
        (
            params("true", "a-bucket", "arn:aws:s3:::a-bucket/*", "arn:aws:kms:us-east-1:2222:key/x"),
            "not a KMS key ARN",
        ),
        (
            params("true", "a-bucket", "arn:aws:s3:::a-bucket/*", "arn:aws:kms:us-east-1:222222222222:alias/dev"),
            "not a KMS key ARN",
        ),
        (params("maybe", "", "", ""), "EnableReplication"),
        (params("true", "192.168.1.1", "arn:aws:s3:::192.168.1.1/*", K1), "IP address"),
    ],
)
def test_refused_input_names_position_and_values(raw: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        reg.parse(raw)


def test_missing_parameter_is_refused() -> None:
    with pytest.raises(InvalidInput, match="ReplicationCMKs"):
        reg.parse({reg.ENABLE: "false", reg.BUCKETS: "", reg.STAR_ARNS: ""})


def test_a_bucket_registered_twice_is_kept_but_not_touched() -> None:
    t = reg.parse(
        params(
            "true",
            "a-bucket,b-bucket,a-bucket",
            ",".join(f"arn:aws:s3:::{b}/*" for b in ("a-bucket", "b-bucket", "a-bucket")),
            f"{K1},{K2},{K1}",
        )
    )
    assert t.buckets == ["a-bucket", "b-bucket", "a-bucket"]
    with pytest.raises(InvalidInput, match=r"registered 2 times \(positions 1 and 3"):
        reg.merge(t, reg.Entry.for_bucket("a-bucket", K2))
    with pytest.raises(InvalidInput, match="positions 1 and 3"):
        reg.remove(t, bucket="a-bucket")
    # Someone else may still onboard, and the duplicate stays as it was.
    after = reg.merge(t, reg.Entry.for_bucket("c-bucket", K2)).after
    assert after.entries[:3] == t.entries


def test_same_bucket_new_key_is_replaced_in_place() -> None:
    t = reg.parse(params("true", "a-bucket,b-bucket", "arn:aws:s3:::a-bucket/*,arn:aws:s3:::b-bucket/*", f"{K1},{K2}"))
    new_key = "arn:aws:kms:us-east-1:222222222222:key/99999999-2222-3333-4444-555555555555"
    change = reg.merge(t, reg.Entry.for_bucket("a-bucket", new_key))
    assert change.kind == "key-replaced"
    assert change.after.buckets == ["a-bucket", "b-bucket"]
    assert change.after.entries[0].cmk == new_key
    assert change.after.entries[1] == t.entries[1]
    assert K1 in change.message
    assert new_key in change.message
    assert [r.status for r in plan.diff(change).entries] == ["key-replaced", "unchanged"]


def test_merge_into_paused_replication_turns_it_on() -> None:
    t = reg.parse(params("false", "a-bucket", "arn:aws:s3:::a-bucket/*", K1))
    change = reg.merge(t, reg.Entry.for_bucket("b-bucket", K2))
    assert change.after.enabled
    assert plan.diff(change).parameters[reg.ENABLE] == ("false", "true")


def test_removing_the_last_developer_turns_replication_off() -> None:
    t = reg.parse(params("true", "a-bucket", "arn:aws:s3:::a-bucket/*", K1))
    change = reg.remove(t, bucket="a-bucket")
    assert reg.render(change.after) == params("false", "", "", "")
    assert "replication is turned off" in change.message


def test_remove_by_key_when_bucket_unknown_and_unregistered_is_a_noop() -> None:
    t = reg.parse(params("true", "a-bucket,b-bucket", "arn:aws:s3:::a-bucket/*,arn:aws:s3:::b-bucket/*", f"{K1},{K2}"))
    assert reg.remove(t, cmk=K2).after.buckets == ["a-bucket"]
    noop = reg.remove(t, bucket="zzz-bucket")
    assert noop.kind == "not-registered"
    assert not noop.changes_anything
    assert "not registered" in noop.message


# ---- limits -------------------------------------------------------------------------------


def _key(n: int) -> str:
    return f"arn:aws:kms:us-east-1:{n:012d}:key/{n:08d}-1111-2222-3333-444444444444"


def _filled(count: int) -> reg.Registry:
    return reg.Registry(True, tuple(reg.Entry.for_bucket(f"dev-bucket-{n:05d}", _key(n)) for n in range(count)))


def _standard(n: int, region: str = "us-east-1") -> reg.Entry:
    """A developer as the stock templates make one: xacct-build-ACCOUNT-REGION, its key beside it."""
    account = f"{200000000000 + n:012d}"
    key = f"arn:aws:kms:{region}:{account}:key/{n:08d}-1111-2222-3333-444444444444"
    return reg.Entry.for_bucket(f"xacct-build-{account}-{region}", key)


def _merged(entries: list[reg.Entry], start: reg.Registry | None = None) -> reg.Registry:
    registry = start or reg.Registry(False)
    for entry in entries:
        registry = reg.merge(registry, entry).after
    return registry


def test_the_four_lists_take_exactly_what_fits_4096_bytes_and_the_next_developer_goes_on() -> None:
    key_len = len(_key(0))  # 75 bytes, like a real key ARN
    fitting = (limits.PARAMETER_LIMIT + 1) // (key_len + 1)
    assert fitting == 53
    full = _filled(fitting)
    assert len(reg.render(full)[reg.CMKS].encode()) <= 4096
    assert capacity.fits(full)
    after = reg.merge(full, _standard(1)).after
    assert after.held(0) == list(full.entries)  # nobody moved
    assert reg.render(after)[reg.MORE[0]] == f"{_standard(1).bucket}=00000001-1111-2222-3333-444444444444"
    assert reg.render(after)[reg.MORE_ACCOUNTS[0]] == "200000000001"
    capacity.check_limits(reg.merge(full, _standard(1)))


def test_a_developer_the_account_bounded_grant_cannot_cover_is_refused_past_the_four_lists() -> None:
    full = _filled(53)
    with pytest.raises(InvalidInput) as refused:
        capacity.check_limits(reg.merge(full, reg.Entry.for_bucket("one-more-bucket", _key(99999))))
    message = refused.value.message
    assert "one-more-bucket" in message
    assert "xacct-build-ACCOUNT-REGION" in message
    assert "54 developers would be registered and at most 53 fit" in message


def test_every_limit_is_refused_exactly_with_how_many_fit() -> None:
    """The last developer that fits every parameter and grant is accepted, the next refused, naming the
    limit: 53 in the four lists, 56 per overflow parameter (72 bytes each), ten of them."""
    total = 53 + 56 * len(reg.MORE)
    registry = _merged([_standard(n) for n in range(1, total + 1)], _filled(53) and reg.Registry(False))
    assert len(registry.entries) == total
    assert capacity.fits(registry)
    assert capacity.capacity(registry).fits == total
    one_more = reg.merge(registry, _standard(total + 1))
    with pytest.raises(InvalidInput) as refused:
        capacity.check_limits(one_more)
    assert "ReplicationMore01 to ReplicationMore10" in refused.value.message
    assert f"{total + 1} developers would be registered and at most {total} fit" in refused.value.message
    values = reg.render(registry)
    assert all(len(values[name].encode()) <= 4096 for name in reg.OVERFLOW)
    # Each account once, in the lists of the grants; every list and grant within its limit.
    granted = [a for name in reg.MORE_ACCOUNTS for a in values[name].split(",") if a]
    assert granted == [reg.account_of(e) for e in registry.entries[53:]]
    assert all(not u.over for u in capacity.uses(registry))


def test_capacity_counts_used_and_fitting() -> None:
    cap = capacity.capacity(_merged([_standard(n) for n in range(1, 11)]))
    assert cap.used == 10
    assert cap.fits == 53 + 56 * len(reg.MORE)
    assert cap.fits >= 500
    assert capacity.capacity(reg.Registry(False)).used == 0
    # Counted for developers as the stock templates make them, whatever those registered look like.
    assert capacity.capacity(_filled(10)).fits == 53 + 56 * len(reg.MORE)


def test_an_entry_stays_in_its_parameter_when_others_come_and_go() -> None:
    registry = _merged([_standard(n) for n in range(1, 120)])
    values = reg.render(registry)
    removed = reg.remove(registry, bucket=_standard(30).bucket).after  # one of the four lists
    after = reg.render(removed)
    assert after[reg.MORE[0]] == values[reg.MORE[0]]
    assert after[reg.MORE[1]] == values[reg.MORE[1]]
    assert removed.entries == tuple(e for e in registry.entries if e != _standard(30))
    gone = reg.remove(registry, bucket=_standard(60).bucket).after  # one past them
    assert reg.render(gone)[reg.BUCKETS] == values[reg.BUCKETS]
    assert reg.render(gone)[reg.MORE[1]] == values[reg.MORE[1]]
    assert "200000000060" not in reg.render(gone)[reg.MORE_ACCOUNTS[0]].split(",")
    # Written and read back, the registry is the same: order, places and grants.
    assert reg.parse(reg.render(gone)) == gone


@settings(max_examples=50)
@given(st.lists(bucket_names, min_size=1, max_size=400, unique=True))
def test_the_parameter_limit_binds_before_the_policy_limit(buckets: list[str]) -> None:
    """However short the names, a list within 4,096 bytes yields a policy within IAM's quota."""
    entries_ = [reg.Entry.for_bucket(b, _key(i)) for i, b in enumerate(buckets)]
    values = reg.render(reg.Registry(True, tuple(entries_)))
    if len(values[reg.STAR_ARNS].encode()) <= 4096 and len(values[reg.CMKS].encode()) <= 4096:
        problems = capacity.limit_problems(reg.Registry(True, tuple(entries_)))
        assert not [p for p in problems if "managed policy" in p]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(min_value=1, max_value=160)), max_size=80))
def test_additions_and_removals_never_move_reorder_or_lose_anyone_else(steps: list[tuple[bool, int]]) -> None:
    """Whatever order developers come and go in (past the four lists too), everyone else keeps their
    position relative to the others and the parameter that holds them, and what is written reads back
    as the same registry."""
    registry = _merged([_standard(n) for n in range(1, 61)])
    for add, n in steps:
        entry = _standard(n)
        change = reg.merge(registry, entry) if add else reg.remove(registry, bucket=entry.bucket)
        after = change.after
        others = [e for e in registry.entries if e.bucket != entry.bucket]
        assert [e for e in after.entries if e.bucket != entry.bucket] == others
        where = {e.bucket: registry.place(i) for i, e in enumerate(registry.entries)}
        assert all(where[e.bucket] == after.place(i) for i, e in enumerate(after.entries) if e.bucket in where)
        assert reg.parse(reg.render(after)) == after
        registry = after
