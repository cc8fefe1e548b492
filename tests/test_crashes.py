"""Runs that end abruptly: SIGTERM and SIGHUP end a run as Ctrl-C does; SIGKILL at each phase
leaves nothing that blocks another developer for long, and a plain re-run finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import conftest
from tests.cfn_double import CloudFormationDouble
from tests.conftest import DEV1, DEV2, REGION, ROOT, cfn, deploy_central, fake_entry, onboard_args, run_cli, session
from xacct.core import registry as reg

TWO = [fake_entry(1), fake_entry(2)]
PHASES = {
    "developer stack in progress": "dev:CrossAccountPrimary create in progress",
    "central change set pending": "build:CrossAccountPrimary creating a change set",
    "central update in flight": "build:CrossAccountPrimary update in progress",
}


@pytest.fixture
def slower(slow_aws):  # type: ignore[no-untyped-def]
    slow_aws.stack_seconds, slow_aws.change_set_seconds = 3.0, 2.0
    deploy_central(TWO)
    return slow_aws


def start(profile: str, account: str, tmp_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "NO_COLOR": "1", "XDG_CONFIG_HOME": str(tmp_path / profile)}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "onboard.py"), *onboard_args(profile, account), "--yes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )


def until(proc: subprocess.Popen[str], line: str, timeout: float = 90) -> str:
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while line not in seen and time.monotonic() < deadline:
        got = proc.stderr.readline()
        if not got and proc.poll() is not None:
            break
        seen += got
    assert line in seen, seen
    return seen


def central() -> reg.Registry:
    params = cfn("build").describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]["Parameters"]
    return reg.parse({p["ParameterKey"]: p.get("ParameterValue", "") for p in params})


def nothing_left() -> None:
    assert (
        session("build").client("ssm").get_parameters_by_path(Path="/xacct/locks", Recursive=True)["Parameters"] == []
    )
    for profile in ("build", "dev1", "dev2"):
        for s in cfn(profile).describe_stacks()["Stacks"]:
            waiting = [
                c["ChangeSetName"]
                for c in cfn(profile).list_change_sets(StackName=s["StackName"])["Summaries"]
                if c.get("ExecutionStatus") != "EXECUTE_COMPLETE"
            ]
            assert waiting == [], (profile, s["StackName"])


@pytest.mark.parametrize(
    ("sig", "status", "phase"),
    [*((signal.SIGTERM, 143, phase) for phase in PHASES), (signal.SIGHUP, 129, "central change set pending")],
    ids=[*(f"SIGTERM, {phase}" for phase in PHASES), "SIGHUP, central change set pending"],
)
def test_a_terminating_signal_ends_a_run_as_ctrl_c_does(
    slower: CloudFormationDouble, tmp_path: Path, sig: int, status: int, phase: str
) -> None:
    proc = start("dev1", DEV1, tmp_path)
    seen = until(proc, PHASES[phase])
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=90)
    err = seen + err
    assert proc.returncode == status, err
    assert "Traceback" not in err
    assert f"interrupted ({signal.Signals(sig).name}); " in err
    assert "run the same command again" in err
    conftest.settled("build", "dev1", "dev2")  # CloudFormation finishes what it had started
    nothing_left()
    again = run_cli(*onboard_args(), "--yes")
    assert again.code == 0, again.err
    assert central().buckets == [TWO[0][0], TWO[1][0], f"xacct-build-{DEV1}-{REGION}"]
    nothing_left()


@pytest.mark.parametrize("phase", list(PHASES))
def test_a_killed_run_blocks_nobody_for_long(slower: CloudFormationDouble, tmp_path: Path, phase: str) -> None:
    """SIGKILL: nothing of the run's own cleanup happens. Another developer's onboarding finishes
    well within 90 s of the crash, and the killed run's plain re-run completes it."""
    proc = start("dev1", DEV1, tmp_path)
    until(proc, PHASES[phase])
    proc.kill()
    proc.wait(timeout=30)
    killed = time.monotonic()
    other = run_cli(*onboard_args("dev2", DEV2), "--yes")
    finished = time.monotonic() - killed
    assert other.code == 0, other.err
    assert finished < 90, finished
    print(f"\n{phase}: another developer onboarded {finished:.1f} s after the crash")
    again = run_cli(*onboard_args(), "--yes")
    assert again.code == 0, again.err
    buckets = central().buckets
    assert buckets[:2] == [TWO[0][0], TWO[1][0]]
    assert sorted(buckets[2:]) == sorted([f"xacct-build-{DEV1}-{REGION}", f"xacct-build-{DEV2}-{REGION}"])
    nothing_left()


SEEN_STARTING = """\
import os, sys

def seen(event, args):
    # the first import after signals.install(): from here on the run's handler is in place
    if event == "import" and args[0] == "xacct.cli" and not os.path.exists(os.environ["STARTED"]):
        open(os.environ["STARTED"], "w").close()

sys.addaudithook(seen)
"""


@pytest.mark.emulator
def test_ctrl_c_at_once_exits_130_without_a_traceback(tmp_path: Path) -> None:
    """From the moment its handler is in place (main's first statement, before anything else is
    imported) Ctrl-C ends the run without a traceback, imports included. Before that is Python's own
    start-up, some 20-40 ms and more on a loaded machine, which no program can guard: the delays
    count from the handler, which an audit hook sees, not from the start of the process."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SEEN_STARTING)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / ".config"), PYTHONPATH=str(hooks))
    for delay in (0.0, 0.05, 0.2, 0.5):
        started = tmp_path / f"started-{delay}"
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "onboard.py"), "--sandbox", "--dry-run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env={**env, "STARTED": str(started)},
            text=True,
        )
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.002)
        assert started.exists(), proc.communicate(timeout=60)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        assert "Traceback" not in err, (delay, err)
        assert proc.returncode == 130, (delay, proc.returncode, err)
        assert "interrupted" in err


LANDS_IN_A_FINALIZER = """\
import gc, sys, weakref

def seen(event, args):
    # well into the run, past its first checkpoint: Ctrl-C lands in a callback Python runs itself
    if event == "import" and args[0] == "xacct.sandbox.emulator":
        class Thing:
            pass

        def callback(_):
            raise KeyboardInterrupt

        thing = Thing()
        sys._xacct_ref = weakref.ref(thing, callback)
        del thing
        gc.collect()

sys.addaudithook(seen)
"""


@pytest.mark.emulator
def test_an_interrupt_landing_in_a_finalizer_mid_run_still_ends_it(tmp_path: Path) -> None:
    """Ctrl-C that lands where Python cannot raise it (a weakref callback, a __del__), long after the
    run's first checkpoint: the run still ends as interrupted, 130, at once, and is not carried on to
    exit 0 as if nobody had pressed it."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(LANDS_IN_A_FINALIZER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / ".config"), PYTHONPATH=str(hooks))
    done = subprocess.run(
        [sys.executable, str(ROOT / "onboard.py"), "--sandbox", "--dry-run"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 130, done.stderr
    assert "interrupted" in done.stderr
    assert "Traceback" not in done.stderr
    assert "emulator stopped" not in done.stderr  # ended there, not carried on


def test_an_interrupt_python_could_not_raise_is_raised_at_the_next_checkpoint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C landing in a callback Python runs itself (the import machinery's weakref callbacks)
    is "ignored" there, with a traceback on stderr; the run must still end as interrupted: it is
    delivered again, and raised in the program's own code at once."""
    import gc
    import weakref

    from xacct import signals

    saved = {sig: signal.getsignal(sig) for sig in (*signals.CAUGHT, signal.SIGINT)}
    hook = sys.unraisablehook
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a run (a test worker may differ)
        signals.install()

        class Thing:
            pass

        def callback(_: object) -> None:
            raise KeyboardInterrupt

        held = [Thing()]
        ref = weakref.ref(held[0], callback)

        def let_go_then_wait() -> None:
            held.clear()
            gc.collect()
            time.sleep(5)  # the interrupt ends this: a KeyboardInterrupt after it would fail the test

        with pytest.raises(KeyboardInterrupt):
            let_go_then_wait()
        assert ref() is None
        assert "Traceback" not in capsys.readouterr().err
        signals.check()  # raised once
    finally:
        sys.unraisablehook = hook
        for sig, handler in saved.items():
            signal.signal(sig, handler)
