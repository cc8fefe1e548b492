"""The central lease: one run at a time, a dead holder noticed within its expiry (at once on its
own machine), never trusting another machine's clock, a run's own lease recognised after a lost
response, and a way to break it by hand."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import BUILD, REGION, deploy_central, fake_entry, onboard_args, run_cli
from xacct.aws import lease
from xacct.aws.gateway import Gateway
from xacct.core.state import Silent

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
from xacct.sandbox.emulator import Emulator

STACK = "CrossAccountPrimary"


def ssm() -> SSMClient:
    return Gateway("build", REGION, "b").ssm


def quick(client: SSMClient, **kw: Any) -> lease.Lease:
    """A lease with short timings, so that waiting is measured in seconds, not minutes."""
    return lease.Lease(client, STACK, Silent(), expiry=kw.pop("expiry", 1.5), heartbeat=kw.pop("heartbeat", 0.3), **kw)


def left() -> list[str]:
    return [p["Name"] for p in ssm().get_parameters_by_path(Path="/xacct/locks", Recursive=True)["Parameters"]]


def dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def planted(host: str, pid: int) -> None:
    value = {"token": "someone-elses", "holder": f"alice@{host}:{pid}", "host": host, "pid": pid, "since": 1.0}
    ssm().put_parameter(Name=lease.lease_name(STACK), Value=json.dumps(value), Type="String")


def test_a_lease_left_by_a_dead_process_of_this_machine_is_taken_at_once(aws: Emulator) -> None:
    import socket

    deploy_central([fake_entry(1)])
    planted(socket.gethostname(), dead_pid())
    started = time.monotonic()
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 0, r.err
    assert time.monotonic() - started < 20  # no waiting out an expiry
    assert "took over the lease of alice@" in r.err
    assert "its process is gone" in r.err
    assert left() == []


def test_a_silent_lease_of_another_machine_is_taken_after_its_expiry(aws: Emulator) -> None:
    planted("another-machine", 4242)
    waiter = quick(ssm(), expiry=1.5)
    started = time.monotonic()
    with waiter.held():
        waited = time.monotonic() - started
    assert 1.5 <= waited < 6
    assert left() == []


@pytest.mark.parametrize("skew", [+120.0, -120.0], ids=["holder two minutes ahead", "holder two minutes behind"])
def test_a_holders_clock_neither_blocks_others_nor_lets_a_second_writer_in(aws: Emulator, skew: float) -> None:
    holder = quick(ssm(), wall=lambda: time.time() + skew)
    holder.acquire()
    acquired = threading.Event()

    def wait() -> None:
        with quick(ssm()).held():
            acquired.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    # Renewing, the holder keeps it for several expiries, whatever its clock says.
    assert not acquired.wait(4.0)
    # Then it dies without releasing (its heartbeat stops): the waiter gets in after one expiry.
    holder._stop.set()
    died = time.monotonic()
    assert acquired.wait(10.0)
    assert 1.0 <= time.monotonic() - died < 6
    waiter.join(timeout=10)
    assert left() == []


def test_a_run_recognises_its_own_lease_after_a_lost_response(aws: Emulator) -> None:
    mine = quick(ssm())
    # PutParameter went through, and its answer was lost: the lease holds our value already.
    ssm().put_parameter(Name=mine.name, Value=mine.me.value(time.time), Type="String")
    started = time.monotonic()
    with mine.held():
        assert time.monotonic() - started < 1
    assert left() == []


def test_a_stale_lease_goes_to_exactly_one_taker(aws: Emulator) -> None:
    planted("another-machine", 4242)
    client = ssm()
    seen = lease.read(client, lease.lease_name(STACK))
    assert seen is not None
    assert lease.take_over(client, lease.lease_name(STACK), seen, "first")
    assert not lease.take_over(client, lease.lease_name(STACK), seen, "second")  # read it before the first won
    assert client.get_parameter(Name=lease.lease_name(STACK))["Parameter"]["Value"] == "first"
    assert left() == [lease.lease_name(STACK)]


def test_waiters_hold_it_one_at_a_time(aws: Emulator) -> None:
    planted("another-machine", 4242)
    held: list[tuple[float, float]] = []
    errors: list[BaseException] = []

    def contend() -> None:
        try:
            with quick(ssm(), expiry=1.0).held():
                start = time.monotonic()
                time.sleep(0.3)
                held.append((start, time.monotonic()))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=contend) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(held) == 4
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(sorted(held)))
    assert left() == []


def test_a_lease_taken_over_is_noticed_and_the_new_holders_stays(aws: Emulator) -> None:
    mine = quick(ssm(), heartbeat=60)
    mine.acquire()
    theirs = {"token": "bob", "holder": "bob@desk:7", "host": "desk", "pid": 7, "since": 1.0}
    ssm().put_parameter(Name=mine.name, Value=json.dumps(theirs), Type="String", Overwrite=True)
    assert mine.renew() is False
    assert mine.lost == "bob@desk:7"
    mine.release()
    assert json.loads(ssm().get_parameter(Name=mine.name)["Parameter"]["Value"])["holder"] == "bob@desk:7"


def test_a_rerun_with_nothing_to_do_frees_the_lease_its_killed_run_left(aws: Emulator) -> None:
    import socket

    deploy_central([fake_entry(1)])
    assert run_cli(*onboard_args(), "--yes").code == 0
    planted(socket.gethostname(), dead_pid())  # the earlier run was killed after its update landed
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 0, r.err
    assert "Nothing to do" in r.out
    assert "released the lease left by alice@" in r.err
    assert left() == []


def test_breaking_a_lease_by_hand_asks_for_the_stack_name(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy_central()
    planted("another-machine", 4242)
    build_only = ["--build-account", BUILD, "--build-region", REGION, "--build-profile", "build"]
    without_terminal = run_cli(*build_only, "--break-lease", "--central-stack", STACK)
    assert without_terminal.code == 2
    assert "aws ssm delete-parameter --name /xacct/locks/CrossAccountPrimary" in without_terminal.err
    from xacct.terminal import wizard

    monkeypatch.setattr(wizard, "ask", lambda given, **_: given.with_defaults())
    answers = iter(["Wrong", STACK])
    monkeypatch.setattr(wizard, "type_to_confirm", lambda message: next(answers))
    kept = run_cli(*build_only, "--break-lease", "--central-stack", STACK, interactive=True)
    assert "Not confirmed: the lease stays." in kept.out
    assert left() == [lease.lease_name(STACK)]
    broken = run_cli(*build_only, "--break-lease", "--central-stack", STACK, interactive=True)
    assert "held by alice@another-machine:4242" in broken.out
    assert "is broken" in broken.out
    assert left() == []
