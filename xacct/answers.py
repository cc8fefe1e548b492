"""The answers a run needs, layered: flags, then a --config file, then the last saved answers."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from xacct.errors import InvalidInput

DEFAULT_CENTRAL_STACK = "CrossAccountPrimary"
DEFAULT_DEV_STACKS = ("CrossAccountPrimary", "CrossAccountDeploy", "CrossAccountDeveloper")
_ACCOUNT = re.compile(r"^\d{12}$")
_STACK = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")


def account_problem(value: str) -> str | None:
    return None if _ACCOUNT.match(value.strip()) else "an AWS account id is 12 digits"


def region_problem(value: str) -> str | None:
    from xacct.regions import region_problem as problem

    return problem(value)


def stack_problem(value: str) -> str | None:
    return None if _STACK.match(value) else "a stack name is letters, digits and '-', starting with a letter"


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
        names = [s.strip() for s in (self.dev_stacks or ",".join(DEFAULT_DEV_STACKS)).split(",")]
        if len(names) != 3 or any(stack_problem(n) for n in names):
            raise InvalidInput(f"--dev-stacks needs three stack names P,D,V, got {self.dev_stacks!r}")
        return names[0], names[1], names[2]

    def validate(self) -> None:
        checks = {
            "build_account": account_problem,
            "dev_account": account_problem,
            "build_region": region_problem,
            "dev_region": region_problem,
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


def from_mapping(data: Mapping[str, Any], source: str) -> Answers:
    unknown = sorted(set(data) - set(Answers.names()))
    if unknown:
        raise InvalidInput(f"{source}: unknown keys {', '.join(unknown)} (known: {', '.join(Answers.names())})")
    return Answers(**{k: None if v is None else str(v) for k, v in data.items()})


def load(path: Path) -> Answers:
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise InvalidInput(f"cannot read answers file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not valid YAML: {exc}") from exc
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
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("# xacct's last answers (never credentials)\n" + yaml.safe_dump(answers.to_dict(), sort_keys=False))
    tmp.replace(path)
