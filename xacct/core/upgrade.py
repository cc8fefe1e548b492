"""Which template the central stack's update deploys: the one it holds, unless the registry now
needs parameters that template does not declare (developers past the four lists), in which case
an older template of this project is upgraded to this version's, in place, with every parameter
and registration kept; the seed project's template or another's is refused with what to do. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from xacct.core import seed
from xacct.core.state import declared_parameters
from xacct.errors import InvalidInput


def central_template(deployed: str, after: Mapping[str, str], stock: str, first: int) -> tuple[str, str | None]:
    """(the template to deploy, a note for the plan when it is an upgrade). `after`: the parameter
    values the update writes; `first`: how many developers the four lists hold."""
    from xacct.core.planning import kind_of

    held = declared_parameters(deployed)
    missing = [name for name in after if name not in held]
    if not missing:
        return deployed, None
    where = (
        f"the developers past the first {first} go in {missing[0]}, which the central stack's template does not declare"
    )
    if seed.recognise(deployed):
        raise InvalidInput(
            f"{where}: it holds the seed project's template, which has only the four lists. Nothing was changed",
            hint="move it to this project's template first (its key, buckets, exports and registrations kept): "
            "python onboard.py --adopt with the build answers",
        )
    if kind_of(deployed) != "CrossAccountPrimary":
        raise InvalidInput(f"{where}, and it is not this project's template. Nothing was changed")
    declared = sorted(name for name in declared_parameters(stock) if name not in held)
    note = (
        f"the central stack's template is upgraded to this version's, in place: it adds {', '.join(declared)}, "
        f"where developers past the first {first} are written with account-bounded grants; every parameter and "
        "registration is kept, and CloudFormation's change set is checked to replace nothing"
    )
    return stock, note


def alerts_template(deployed: str, stock: str) -> tuple[str, str | None]:
    """(the template to deploy, a note when it is an upgrade) for `--alerts`: the one the central
    stack holds if it declares AlertEmail; an earlier version of this project's, upgraded in place;
    the seed project's or another's refused with what to do."""
    from xacct.core.planning import kind_of

    if "AlertEmail" in declared_parameters(deployed):
        return deployed, None
    if seed.recognise(deployed):
        raise InvalidInput(
            "--alerts needs this project's central template, and the central stack holds the seed project's. "
            "Nothing was changed",
            hint="move it to this project's template first (its key, buckets, exports and registrations kept): "
            "python onboard.py --adopt with the build answers",
        )
    if kind_of(deployed) != "CrossAccountPrimary":
        raise InvalidInput("--alerts: the central stack's template is not this project's. Nothing was changed")
    note = (
        "the central stack's template is upgraded to this version's, in place: it adds the Alerts topic, the delivery "
        "and function alarms and the function's metrics; every parameter and registration is kept, and "
        "CloudFormation's change set is checked to replace nothing"
    )
    return stock, note
