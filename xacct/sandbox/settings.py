"""The emulator's clock: how long AWS takes for what it does in the background, as settings a test
can turn up so that every waiting and retrying path of the product runs (../shared/emulator.md,
"Time as AWS takes it"). Zero is the default: the suite's other tests wait for nothing.

- `propagation_seconds`: IAM, KMS and S3 apply a changed role, trust policy, role policy, key policy
  or bucket policy eventually (IAM user guide, "Changes that I make are not always immediately
  visible"); here each takes effect this long after the call that made it, and until then the
  previous document (or, for something new, nothing) is what authorizes.
- `stack_set_seconds`: how long a StackSets operation takes per account it touches; operations run in
  the background and report RUNNING until then.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields


@dataclass
class Settings:
    propagation_seconds: float = 0.0
    stack_set_seconds: float = 0.0
    alarm_period_seconds: float = 0.0


SETTINGS = Settings()
_LOCK = threading.Lock()


def configure(**values: float) -> None:
    known = {f.name for f in fields(Settings)}
    unknown = set(values) - known
    if unknown:
        names = ", ".join(sorted(known))
        raise TypeError(f"no emulator setting {', '.join(sorted(unknown))}; the settings are {names}")
    with _LOCK:
        for name, value in values.items():
            setattr(SETTINGS, name, float(value))


def reset() -> None:
    configure(**{f.name: f.default for f in fields(Settings)})  # type: ignore[arg-type]
