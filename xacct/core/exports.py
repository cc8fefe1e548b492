"""Which of a stack's exports an update would change or remove, and whether AWS would refuse it:
"You can't modify or remove an output value that is referenced by another stack" (CloudFormation
user guide, "Exporting stack output values"); the update fails and rolls back. Found from the two
templates before anything is written, so the plan names the export and its importer instead of a
rolled-back stack. Pure: the caller reads the templates and who imports what."""

from __future__ import annotations

from collections.abc import Mapping

from xacct.core.adopt import exports_kept
from xacct.core.grants import load


def changed(before: str, after: str) -> dict[str, str]:
    """Each export of `before` that `after` no longer makes from the same value: "deleted" or "updated"."""
    old, new = load(before), load(after)
    made = {str((o.get("Export") or {}).get("Name")) for o in (new.get("Outputs") or {}).values() if o.get("Export")}
    return {name: "updated" if name in made else "deleted" for name, kept in exports_kept(old, new).items() if not kept}


def refusals(stack: str, before: str, after: str, importers: Mapping[str, list[str]]) -> list[str]:
    """Why CloudFormation would refuse updating `stack` from `before` to `after`, one line per export in use."""
    found = []
    for name, verb in changed(before, after).items():
        users = [u for u in importers.get(name, []) if u != stack]
        if users:
            change = "change" if verb == "updated" else "remove"
            found.append(
                f"the update of {stack} would {change} its export {name}, which {', '.join(users)} imports: "
                f'CloudFormation refuses that ("Export {name} cannot be {verb} as it is in use by {users[0]}") '
                "and rolls the update back"
            )
    return found
