"""The process emulated Lambda invocations are forked from.

Each invocation still gets a process of its own, started afresh: its module state new, its
environment only what Lambda gives it. What is shared is the interpreter's start and the import of
boto3, which a Lambda Python runtime has installed: started once here, not once per invocation
(a third of a second of CPU each, and a batch's delivery starts seven at once on the same cores as
the emulator and the tool). The zygote is single-threaded, so forking it is safe.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

_ZYGOTE = r"""
import json, os, select, signal, sys
import boto3, botocore.client, botocore.config, botocore.exceptions, concurrent.futures, importlib, time

def child(request):
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_TRUNC), fd)
    code = 1
    try:
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path.insert(0, request["task"])
        meta = request["meta"]
        class Context:
            function_name = meta["name"]
            invoked_function_arn = meta["arn"]
            aws_request_id = meta["request"]
            memory_limit_in_mb = meta["memory"]
            log_group_name = meta["log_group"]
            _deadline = time.monotonic() + meta["timeout"]
            def get_remaining_time_in_millis(self):
                return int(max(0, self._deadline - time.monotonic()) * 1000)
        module, _, attribute = meta["handler"].rpartition(".")
        handler = getattr(importlib.import_module(module), attribute)
        result = handler(request["event"], Context())
        print("REPORT " + json.dumps({"result": result}, default=str))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the tool's to handle; the zygote ends with its stdin
wake_r, wake_w = os.pipe()
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w)
signal.signal(signal.SIGCHLD, lambda *_: None)
pending = b""
while True:
    ready = select.select([0, wake_r], [], [])[0]
    if wake_r in ready:
        os.read(wake_r, 4096)
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        os.write(1, f"exited {pid} {os.waitstatus_to_exitcode(status)}\n".encode())
    if 0 in ready:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            break
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)  # as a process of its own would have
                os.close(wake_r)
                os.close(wake_w)
                child(request)
            os.write(1, f"started {request['id']} {pid}\n".encode())
"""


@dataclass
class _Run:
    done: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    pid: int = 0
    code: int | None = None


class ZygoteGone(Exception):
    """The zygote ended (killed, or its interpreter failed): the invocation's outcome is unknown."""


class Zygote:
    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # its own failure is the invocation's (ZygoteGone), never the terminal's
            env={"PATH": os.environ.get("PATH", "")},
        )
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._by_pid: dict[int, _Run] = {}
        self.alive = True
        threading.Thread(target=self._read, name="lambda-zygote", daemon=True).start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            what, key, value = line.decode().split()
            with self._lock:
                if what == "started":
                    run = self._runs.pop(key)
                    run.pid = int(value)
                    self._by_pid[run.pid] = run
                    run.started.set()
                else:
                    run = self._by_pid.pop(int(key))
                    run.code = int(value)
                    run.done.set()
        with self._lock:
            self.alive = False
            for run in [*self._runs.values(), *self._by_pid.values()]:
                run.started.set()
                run.done.set()

    def ended(self) -> bool:
        """Its process has exited, or its reader has seen the end of what it says."""
        return not self.alive or self._process.poll() is not None

    def run(self, request: dict[str, Any], timeout: float) -> int | None:
        """Fork a process for the request and wait for it: its exit code, or None when it ran past
        `timeout` (it is killed, as Lambda ends a timed-out invocation)."""
        key = request["id"]
        run = _Run()
        with self._lock:
            if not self.alive:
                raise ZygoteGone("the Lambda runtime's zygote has ended")
            self._runs[key] = run
        # Not under _lock: the reader takes it for every line, and must never wait on this write.
        with self._write_lock:
            assert self._process.stdin is not None
            try:
                self._process.stdin.write(json.dumps(request).encode() + b"\n")
                self._process.stdin.flush()
            except OSError as exc:
                raise ZygoteGone(f"the Lambda runtime's zygote has ended ({exc})") from exc
        run.started.wait()
        timed_out = not run.done.wait(timeout)
        if timed_out and run.pid:
            try:
                os.kill(run.pid, signal.SIGKILL)
            except ProcessLookupError:  # it ended just now
                timed_out = False
            run.done.wait()
        if run.code is None:
            raise ZygoteGone("the Lambda runtime's zygote ended during an invocation")
        return None if timed_out else run.code


_ONE: list[Zygote] = []
_ONE_LOCK = threading.Lock()


def zygote() -> Zygote:
    """The process's zygote, started again if the last one ended."""
    with _ONE_LOCK:
        if not _ONE or _ONE[0].ended():
            _ONE[:] = [Zygote()]
        return _ONE[0]
