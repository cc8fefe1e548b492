"""The emulator's one public face: moto's server on a free port, held to AWS (every rule in
install.py, catalogued in rules.py), reached through ordinary named profiles (`running()` and the
profile files it writes). Used by `--sandbox`, the tests, the benchmarks, the conformance suite and any
outside harness. The product itself never knows: it talks to whatever endpoint botocore is given,
exactly as it does on AWS.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUILD_ACCOUNT = "111111111111"
DEV_ACCOUNTS = ("222222222222", "333333333333", "444444444444", "555555555555")
REGION = "us-east-1"
SOURCE_PROFILE = "emulator-keys-only"


@dataclass
class Emulator:
    """A running moto server and the AWS config files whose profiles reach its accounts."""

    endpoint: str
    directory: Path
    profiles: dict[str, str] = field(default_factory=dict)  # profile -> account
    roles: dict[str, str] = field(default_factory=dict)  # profile -> role name, where not Admin
    _server: Any = None

    @property
    def environ(self) -> dict[str, str]:
        return {
            "AWS_CONFIG_FILE": str(self.directory / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.directory / "credentials"),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            # Nothing from the user's own environment may leak into the emulator's accounts.
            "AWS_PROFILE": "",
            "AWS_ACCESS_KEY_ID": "",
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_SESSION_TOKEN": "",
        }

    def reset(self) -> None:
        """Forget every account's resources (between tests), and put the settings back."""
        import urllib.request

        from xacct.sandbox import identities, propagation, settings
        from xacct.sandbox.sns import mail
        from xacct.sandbox.stacksets import operations

        settings.reset()
        operations.forget()
        propagation.forget()
        mail.forget()

        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).close()
        identities.seed(self.profiles.values())

    def configure(self, **values: float) -> None:
        """Turn up how long AWS's background work takes here (settings.py); `reset` puts it back."""
        from xacct.sandbox import settings

        settings.configure(**values)

    def run_lifecycle(self, after_days: float) -> int:
        """Every bucket's lifecycle rules carried out as S3 would `after_days` from now (s3/lifecycle.py);
        how many object versions and uploads went."""
        from xacct.sandbox.s3 import lifecycle

        return lifecycle.run(after_days)

    def mail(self, address: str) -> list[Any]:
        """What SNS would have sent to an e-mail address, oldest first (sns/mail.py): each has `subject`,
        `body`, `topic` and `sent`."""
        from xacct.sandbox.sns import mail

        return list(mail.sent(address))

    def add_profile(self, name: str, account: str, role: str = "Admin") -> None:
        """Another profile, reaching `role` in `account` from the same base credentials."""
        self.profiles[name] = account
        self.roles[name] = role
        write_profiles(self.directory, self.profiles, roles=self.roles)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def write_profiles(
    directory: Path, profiles: Mapping[str, str], region: str = REGION, roles: Mapping[str, str] | None = None
) -> None:
    """An AWS config where each profile assumes a role in its own account (emulator.md)."""
    from xacct.sandbox import identities

    # The keys every other profile assumes its role with, as an identity account's user's would be;
    # the tool neither offers nor takes such a profile (aws/identity.py: refuse_key_source).
    lines = [f"[profile {SOURCE_PROFILE}]", f"region = {region}", ""]
    for name, account in profiles.items():
        lines += [
            f"[profile {name}]",
            f"role_arn = arn:aws:iam::{account}:role/{(roles or {}).get(name, identities.ADMIN_ROLE)}",
            f"source_profile = {SOURCE_PROFILE}",
            f"region = {region}",
            "",
        ]
    (directory / "config").write_text("\n".join(lines))
    (directory / "credentials").write_text(
        f"[{SOURCE_PROFILE}]\n"
        f"aws_access_key_id = {identities.BASE_KEY}\naws_secret_access_key = {identities.BASE_SECRET}\n"
    )


MOTO_FLOOR = "5.2.5"  # pyproject.toml's floor: the oldest moto the emulator's rules are seen to run on


def moto_problem(installed: str | None) -> str | None:
    """Why the installed moto cannot run the sandbox (None: it can)."""
    if installed is None:
        return "the sandbox needs moto's server, which is not installed"
    numbers = [int(n) for n in re.findall(r"\d+", installed)[:3]]
    if numbers < [int(n) for n in MOTO_FLOOR.split(".")]:
        return f"the sandbox needs moto >= {MOTO_FLOOR}, found {installed}"
    return None


class Unavailable(RuntimeError):
    """The emulator cannot start here (moto's server missing, or too old); `hint` says how to fix it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def _server_class() -> Any:
    from importlib import metadata

    try:
        installed: str | None = metadata.version("moto")
    except metadata.PackageNotFoundError:
        installed = None
    problem = moto_problem(installed)
    if problem:
        raise Unavailable(problem, "pip install -e '.[sandbox]'")
    try:
        from xacct.sandbox import server

        return server.server_class()
    except ImportError as exc:
        if (exc.name or "").startswith("xacct"):
            raise  # the emulator itself is incomplete: not something installing moto mends
        hint = "pip install -e '.[sandbox]'"
        raise Unavailable("the sandbox needs moto's server, which is not installed", hint) from exc


def require() -> None:
    """Raise Unavailable, saying why and how to fix it, unless the emulator can start here."""
    _server_class()


@contextmanager
def running(profiles: Mapping[str, str]) -> Iterator[Emulator]:
    """Start moto's server on a free port with the given profiles; stop it and delete the files."""
    server_class = _server_class()
    from xacct.sandbox.install import install

    install()
    with tempfile.TemporaryDirectory(prefix="xacct-emulator-") as tmp:
        server = server_class(ip_address="127.0.0.1", port=0, verbose=False)
        import logging
        import warnings

        # moto narrates what it does not emulate; the product's own output is what matters.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        logging.getLogger("moto").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module="moto")
        warnings.filterwarnings("ignore", message=".*not supported by moto.*")
        server.start()
        host, port = server.get_host_and_port()
        emu = Emulator(f"http://{host}:{port}", Path(tmp), dict(profiles), _server=server)
        from xacct.sandbox.awslambda import runtime

        runtime.ENDPOINT[:] = [emu.endpoint]  # functions talk to this emulator, never to AWS
        write_profiles(emu.directory, profiles)
        from xacct.sandbox import identities

        identities.seed(profiles.values())
        try:
            yield emu
        finally:
            emu.stop()
