"""Answers files: a --config file, and the last answers saved between runs. Read as plain text
with clear refusals (size, encoding, YAML aliases), written readable by their owner only."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xacct.core.answers import Answers, from_mapping
from xacct.errors import InvalidInput

if TYPE_CHECKING:
    from xacct.core.fleet import Fleet
    from xacct.core.saved import Saved

CONFIG_LIMIT = 64 * 1024  # bytes: an answers file is a dozen short lines


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
        raise InvalidInput(f"{source} is not valid YAML: {yaml_problem(exc)}", hint=YAML_HINT) from exc


YAML_HINT = "keys start a line as `name: value`; a list's items start `- ` and line up under one another"
# PyYAML's names for what it expected or found, in a person's words.
_TOKENS = {
    "<block end>": "the end of the list or mapping (check the indentation)",
    "<block mapping start>": "a new `key: value` line",
    "<block sequence start>": "a new list",
    "<stream end>": "the end of the file",
    "<document start>": "a new document",
    "<scalar>": "a value",
}


def yaml_problem(exc: Any) -> str:
    """Where the YAML went wrong (line and column) and what was wrong, without PyYAML's internals
    ("<unicode string>", its token names)."""
    mark = getattr(exc, "problem_mark", None)
    problem = str(getattr(exc, "problem", "") or "").strip() or " ".join(str(exc).split())
    for token, words in _TOKENS.items():
        problem = problem.replace(f"'{token}'", words).replace(token, words)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + problem


def read_text(path: Path, limit: int = CONFIG_LIMIT) -> str:
    """A small text file, read with clear refusals: missing, too big, not UTF-8."""
    try:
        with path.open("rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    if len(raw) > limit:
        raise InvalidInput(f"{path} is over {limit // 1024} KB; an answers file is a few lines")
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
    # Never credentials, and never account ids: each run reads them from its profiles (STS), so a
    # saved id could only ever disagree with the account a profile reaches now.
    kept = {k: v for k, v in answers.to_dict().items() if k not in ("build_account", "dev_account")}
    text = "# xacct's last answers (never credentials or account ids)\n" + yaml.safe_dump(kept, sort_keys=False)
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


def load_fleet(path: Path) -> Fleet:
    """A --from file: the build answers and developer defaults at the top, then developers:."""
    from xacct.core import fleet

    return fleet.parse(parse_yaml(read_text(path), str(path)), str(path))


PLAN_LIMIT = 4 * 1024 * 1024  # bytes: a saved plan for a few hundred developers


def load_plan(path: Path) -> Saved:
    """A plan saved with --dry-run --out."""
    import json

    from xacct.core import saved

    try:
        data = json.loads(read_text(path, PLAN_LIMIT))
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not JSON: {exc.msg} at line {exc.lineno}") from exc
    return saved.parse(data, str(path))


def write_plan(path: Path, plan: Saved) -> None:
    import json

    from xacct.core import saved

    try:
        path.write_text(json.dumps(saved.to_json(plan), indent=2) + "\n")
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}") from exc
