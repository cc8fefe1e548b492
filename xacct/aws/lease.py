"""The central stack's lease: one run of this tool at a time updates the shared lists.

The lease is an SSM parameter (`/xacct/locks/STACK`) created with Overwrite=False, which AWS
creates for exactly one caller. Its holder renews it every few seconds (a heartbeat from a thread
of its own), so a run that died is noticed within about a minute, without anyone trusting another
machine's clock: a waiter watches the parameter's *version* and measures, on its own monotonic
clock, how long it has stayed the same. A lease whose version has not moved for LEASE_SECONDS is
stale; one held by a process of this machine that no longer exists is stale at once. Exactly one
of those who find it stale takes it over (a marker named after the stale version, created with
Overwrite=False, decides). Every run carries a token of its own in the value, so a run that lost
the response to its own PutParameter recognises its lease when it reads it back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions as bx

from xacct.core.state import Progress

LEASE_SECONDS = 60.0  # a silent holder blocks others this long at most (each waiter's own clock)
HEARTBEAT_SECONDS = 10.0
WAIT_SECONDS = 1.0


def lease_name(stack: str) -> str:
    return f"/xacct/locks/{stack}"


@dataclass(frozen=True)
class Holder:
    token: str
    who: str  # user@host:pid, for people
    host: str
    pid: int
    since: float  # the holder's own clock: shown, never compared

    @classmethod
    def me(cls, wall: Callable[[], float] = time.time) -> Holder:
        host = socket.gethostname()
        pid = os.getpid()
        who = f"{os.environ.get('USER', 'someone')}@{host}:{pid}"
        return cls(uuid.uuid4().hex, who, host, pid, wall())

    def value(self, wall: Callable[[], float]) -> str:
        return json.dumps(
            {
                "token": self.token,
                "holder": self.who,
                "host": self.host,
                "pid": self.pid,
                "since": self.since,
                "renewed": wall(),
            }
        )

    @classmethod
    def parse(cls, raw: str) -> Holder:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return cls(token="", who=raw[:80], host="", pid=0, since=0.0)
        return cls(
            token=str(data.get("token", "")),
            who=str(data.get("holder", "someone")),
            host=str(data.get("host", "")),
            pid=int(data.get("pid", 0) or 0),
            since=float(data.get("since", 0) or 0),
        )

    def dead_here(self) -> bool:
        """A process of this machine that no longer exists."""
        if self.host != socket.gethostname() or self.pid <= 0 or self.pid == os.getpid():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


class Yielded(Exception):
    """The lease was left to its holder, which does the waiter's work (Lease.yield_to)."""


@dataclass(frozen=True)
class Seen:
    holder: Holder
    version: int
    raw: str


def read(ssm: Any, name: str) -> Seen | None:
    try:
        p = ssm.get_parameter(Name=name)["Parameter"]
    except bx.ClientError as exc:
        if exc.response["Error"]["Code"] == "ParameterNotFound":
            return None
        raise
    return Seen(Holder.parse(p["Value"]), int(p.get("Version", 0)), p["Value"])


def _code(exc: bx.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _delete(ssm: Any, name: str) -> None:
    try:
        ssm.delete_parameter(Name=name)
    except bx.ClientError as exc:
        if _code(exc) != "ParameterNotFound":
            raise


def take_over(ssm: Any, name: str, stale: Seen, value: str | None) -> bool:
    """Replace (or, with value None, remove) a stale lease, for exactly one of those who saw it.

    SSM has no compare-and-swap, so the takers first race to create a marker named after the stale
    lease's version (Overwrite=False: one wins). The winner checks the lease is still that version,
    replaces it, and removes the marker. A late taker can create the marker only after that, so its
    check fails and it goes back to waiting.
    """
    digest = hashlib.sha256(f"{stale.version}:{stale.raw}".encode()).hexdigest()[:24]
    marker = f"{name}-takeover-{digest}"
    try:
        ssm.put_parameter(Name=marker, Value=value or "remove", Type="String", Overwrite=False)
    except bx.ClientError as exc:
        if _code(exc) != "ParameterAlreadyExists":
            raise
        return False
    try:
        now = read(ssm, name)
        if now is None or now.version != stale.version or now.raw != stale.raw:
            return False
        if value is None:
            _delete(ssm, name)
        else:
            ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        return True
    finally:
        _delete(ssm, marker)


def clear_dead(ssm: Any, stack: str) -> Holder | None:
    """Remove a lease left by a process of this machine that no longer exists (a run killed with
    SIGKILL, say). Returns the dead holder when one was removed."""
    seen = read(ssm, lease_name(stack))
    if seen is not None and seen.holder.dead_here() and take_over(ssm, lease_name(stack), seen, None):
        return seen.holder
    return None


@dataclass
class Lease:
    """Hold the central stack's lease for a block, renewing it all along."""

    ssm: Any
    stack: str
    progress: Progress
    sleep: Callable[[float], None] = time.sleep
    expiry: float = LEASE_SECONDS
    heartbeat: float = HEARTBEAT_SECONDS
    clock: Callable[[], float] = time.monotonic  # for measuring staleness: never another machine's
    wall: Callable[[], float] = time.time  # for what people read
    me: Holder = field(default_factory=Holder.me)
    lost: str | None = None  # who holds it instead, once it was lost
    # Asked of each live holder while waiting: True gives up (Yielded), for a waiter whose work that
    # holder will do anyway (the registrar's invocations: xacct/function/registrar.py).
    yield_to: Callable[[Seen], bool] | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return lease_name(self.stack)

    @contextlib.contextmanager
    def held(self) -> Iterator[Lease]:
        self.acquire()
        try:
            yield self
        finally:
            self.release()

    def acquire(self) -> None:
        watched: tuple[tuple[int, str], float] | None = None  # ((version, value), first seen on our clock)
        said = -1.0
        while True:
            try:
                self.ssm.put_parameter(Name=self.name, Value=self.me.value(self.wall), Type="String", Overwrite=False)
                break
            except bx.ClientError as exc:
                if _code(exc) != "ParameterAlreadyExists":
                    raise
            seen = read(self.ssm, self.name)
            if seen is None:
                continue
            if seen.holder.token == self.me.token:
                break  # ours: the response to our own PutParameter was lost
            if self.yield_to is not None and self.yield_to(seen):
                raise Yielded(seen.holder.who)
            now = self.clock()
            # The value too: a lease deleted and created again starts again at version 1.
            if watched is None or watched[0] != (seen.version, seen.raw):
                watched = ((seen.version, seen.raw), now)
            silent = now - watched[1]
            if seen.holder.dead_here() or silent >= self.expiry:
                why = "its process is gone" if seen.holder.dead_here() else f"silent for {silent:.0f} s"
                if take_over(self.ssm, self.name, seen, self.me.value(self.wall)):
                    self.progress.note(self.stack, f"took over the lease of {seen.holder.who} ({why})")
                    break
                continue
            if now - said >= 10 or said < 0:
                self.progress.note(self.stack, self._waiting_line(seen.holder, silent))
                said = now
            self.sleep(WAIT_SECONDS)
        self._thread = threading.Thread(target=self._beat, name=f"lease:{self.stack}", daemon=True)
        self._thread.start()

    def _waiting_line(self, holder: Holder, silent: float) -> str:
        since = time.strftime("%H:%M:%S", time.localtime(holder.since)) if holder.since else "an unknown time"
        return (
            f"waiting for {holder.who} (holding the lease since {since} by its clock); taken over if it "
            f"stops renewing it for {self.expiry:.0f} s (silent for {silent:.0f} s now). "
            f"To break it by hand: python onboard.py --break-lease ..."
        )

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                self.renew()
            except Exception:  # a missed beat is tolerated; LEASE_SECONDS allows several
                continue

    def renew(self) -> bool:
        """Renew our lease; False (and `lost` set) when it is no longer ours."""
        seen = read(self.ssm, self.name)
        if seen is None or seen.holder.token != self.me.token:
            self.lost = seen.holder.who if seen else "nobody"
            return False
        self.ssm.put_parameter(Name=self.name, Value=self.me.value(self.wall), Type="String", Overwrite=True)
        return True

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        seen = read(self.ssm, self.name)
        if seen is not None and seen.holder.token == self.me.token:
            _delete(self.ssm, self.name)


def break_lease(ssm: Any, stack: str) -> Seen | None:
    """Remove the lease whoever holds it (after the person typed their confirmation)."""
    seen = read(ssm, lease_name(stack))
    if seen is not None:
        _delete(ssm, lease_name(stack))
    return seen
