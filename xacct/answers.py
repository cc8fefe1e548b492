"""The answers a run needs, layered: flags, then a --config file, then the last saved answers."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from xacct.errors import InvalidInput

DEFAULT_CENTRAL_STACK = "CrossAccountPrimary"
DEFAULT_DEV_STACKS = ("CrossAccountPrimary", "CrossAccountDeploy", "CrossAccountDeveloper")
_ACCOUNT = re.compile(r"[0-9]{12}", re.ASCII)
_STACK = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}", re.ASCII)
_PROFILE = re.compile(r"[\w+=,.@:/-]{1,128}", re.ASCII)
CONFIG_LIMIT = 64 * 1024  # bytes: an answers file is a dozen short lines


def account_problem(value: str) -> str | None:
    return None if _ACCOUNT.fullmatch(value) else "an AWS account id is 12 digits"


def region_problem(value: str) -> str | None:
    from xacct.regions import region_problem as problem

    return problem(value)


def stack_problem(value: str) -> str | None:
    if _STACK.fullmatch(value):
        return None
    return "a stack name is 1-128 letters, digits and '-', starting with a letter"


def profile_problem(value: str) -> str | None:
    return None if _PROFILE.fullmatch(value) else "a profile name has no spaces or control characters"


@dataclass
class Answers:
    build_account: str | None = None
    build_region: str | None = None
    build_profile: str | None = None
    dev_account: str | None = None
    dev_region: str | None = None
    dev_profile: str | None = None
    central_stack: str | None = None
    dev_stacks: str | None = None

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def layered(self, *others: Answers) -> Answers:
        """These answers, with gaps filled from `others` in order."""
        merged = asdict(self)
        for other in others:
            for key, value in asdict(other).items():
                if merged[key] in (None, "") and value not in (None, ""):
                    merged[key] = value
        return Answers(**merged)

    def with_defaults(self) -> Answers:
        return self.layered(Answers(central_stack=DEFAULT_CENTRAL_STACK, dev_stacks=",".join(DEFAULT_DEV_STACKS)))

    def missing(self, *, developer: bool = True) -> list[str]:
        needed = ["build_account", "build_region", "build_profile"]
        if developer:
            needed += ["dev_account", "dev_region", "dev_profile"]
        return [n for n in needed if getattr(self, n) in (None, "")]

    def stacks(self) -> tuple[str, str, str]:
        names = (self.dev_stacks or ",".join(DEFAULT_DEV_STACKS)).split(",")
        if len(names) != 3 or any(stack_problem(n) for n in names):
            raise InvalidInput(f"--dev-stacks needs three stack names P,D,V, got {self.dev_stacks!r}")
        if len(set(names)) != 3:
            raise InvalidInput(f"--dev-stacks names the same stack twice: {self.dev_stacks!r}")
        return names[0], names[1], names[2]

    def validate(self) -> None:
        checks = {
            "build_account": account_problem,
            "dev_account": account_problem,
            "build_region": region_problem,
            "dev_region": region_problem,
            "build_profile": profile_problem,
            "dev_profile": profile_problem,
            "central_stack": stack_problem,
        }
        for name, check in checks.items():
            value = getattr(self, name)
            if value not in (None, ""):
                problem = check(value)
                if problem:
                    flag = "--" + name.replace("_", "-")
                    raise InvalidInput(f"{flag} {value!r}: {problem}")
        if self.dev_stacks:
            self.stacks()

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


def from_mapping(data: Mapping[Any, Any], source: str) -> Answers:
    if not all(isinstance(k, str) for k in data):
        raise InvalidInput(f"{source}: every key must be text (one of {', '.join(Answers.names())})")
    unknown = sorted(set(data) - set(Answers.names()))
    if unknown:
        raise InvalidInput(f"{source}: unknown keys {', '.join(unknown)} (known: {', '.join(Answers.names())})")
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise InvalidInput(f"{source}: {bad[0]} must be text, not a list or a mapping")
    return Answers(**{k: v or None for k, v in data.items()})


def parse_yaml(text: str, source: str) -> Any:
    """YAML as plain text values: every scalar a string (an account id with a leading zero stays
    what it was written as, not an octal number), and no aliases (an alias bomb of a few hundred
    bytes expands to gigabytes)."""
    import yaml

    class Loader(yaml.BaseLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise InvalidInput(f"{source}: line {event.start_mark.line + 1}: YAML aliases are not accepted")
            return super().compose_node(parent, index)

    try:
        return yaml.load(text, Loader=Loader)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source} is not valid YAML: {' '.join(str(exc).split())}") from exc


def read_text(path: Path) -> str:
    """A small text file, read with clear refusals: missing, too big, not UTF-8."""
    try:
        with path.open("rb") as f:
            raw = f.read(CONFIG_LIMIT + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    if len(raw) > CONFIG_LIMIT:
        raise InvalidInput(f"{path} is over {CONFIG_LIMIT // 1024} KB; an answers file is a few lines")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x})") from exc


def load(path: Path) -> Answers:
    data = parse_yaml(read_text(path), str(path)) or {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} must hold a mapping of answers")
    return from_mapping(data, str(path))


def saved_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "xacct" / "answers.yaml"


def load_saved(path: Path) -> Answers:
    """The last saved answers; a missing or broken file is simply no defaults."""
    try:
        return load(path) if path.exists() else Answers()
    except InvalidInput:
        return Answers()


def save(path: Path, answers: Answers) -> None:
    """Write the answers readable by their owner only (0600 in a 0700 directory), atomically
    (a new file renamed over the old one), never through a link planted in the directory."""
    import tempfile

    import yaml

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    text = "# xacct's last answers (never credentials)\n" + yaml.safe_dump(answers.to_dict(), sort_keys=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".answers-", suffix=".tmp")  # O_EXCL: a new file
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)  # replaces a link at `path` itself, never what it points to
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
