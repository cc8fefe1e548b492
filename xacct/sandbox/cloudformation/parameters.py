"""Template parameters held to their constraints (rule `parameter-constraints`), which moto never
checked: CreateStack, UpdateStack and CreateChangeSet refuse a value outside its AllowedValues, one
that breaks its AllowedPattern, MinLength or MaxLength, or a Number outside MinValue and MaxValue or
not a number at all, with a ValidationError and nothing made (CloudFormation user guide, "Parameters":
"AllowedPattern: A regular expression that represents the patterns to allow for String types. The
pattern must match the entire parameter value provided"; "ConstraintDescription: A string that
explains a constraint when the constraint is violated"). A value passed again (UsePreviousValue) or a
default is held to them too."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from xacct.sandbox.cloudformation import capabilities
from xacct.sandbox.cloudformation._moto import ValidationError, cfn_models, cfn_responses
from xacct.sandbox.patching import around


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def problem(name: str, declared: Mapping[str, Any], value: str) -> str | None:
    """Why `value` breaks parameter `name`'s constraints (None: it keeps them)."""
    kind = str(declared.get("Type", "String"))
    broken: str | None = None
    allowed = declared.get("AllowedValues")
    if allowed is not None and value not in [str(v) for v in allowed]:
        broken = f"Parameter '{name}' must be one of AllowedValues"
    elif kind == "Number":
        number = _number(value)
        low, high = declared.get("MinValue"), declared.get("MaxValue")
        if number is None:
            broken = f"Parameter '{name}' must be a number."
        elif low is not None and number < float(low):
            broken = f"Parameter '{name}' must be a number not less than {low}"
        elif high is not None and number > float(high):
            broken = f"Parameter '{name}' must be a number not greater than {high}"
    elif kind == "String":
        pattern = declared.get("AllowedPattern")
        shortest, longest = declared.get("MinLength"), declared.get("MaxLength")
        if pattern is not None and re.fullmatch(str(pattern), value) is None:
            broken = f"Parameter '{name}' must match pattern {pattern}"
        elif shortest is not None and len(value) < int(shortest):
            broken = f"Parameter '{name}' must contain at least {shortest} characters"
        elif longest is not None and len(value) > int(longest):
            broken = f"Parameter '{name}' must contain at most {longest} characters"
    if broken is None:
        return None
    described = declared.get("ConstraintDescription")
    return f"Parameter {name} failed to satisfy constraint: {described}" if described else broken


def check(template: Mapping[str, Any], given: Mapping[str, str | None], previous: Mapping[str, str]) -> None:
    """Refuse the request when a declared parameter's value (given, passed again: None, or default)
    breaks its constraints."""
    for name, declared in (template.get("Parameters") or {}).items():
        if not isinstance(declared, Mapping) or str(declared.get("Type", "String")).startswith("AWS::"):
            continue
        value = (previous.get(name) if given[name] is None else given[name]) if name in given else None
        value = declared.get("Default") if value is None and name not in given else value
        if value is None:
            continue
        found = problem(name, declared, str(value))
        if found:
            raise ValidationError(message=found)


def install() -> None:
    def checked(original: Any, self: Any) -> Any:
        body = capabilities.template_of(self)
        if body:
            given = {
                str(p["ParameterKey"]): (None if str(p.get("UsePreviousValue")).lower() == "true"
                                         else str(p.get("ParameterValue", "")))
                for p in self._get_param("Parameters", []) or []
            }  # fmt: skip
            previous: dict[str, str] = {}
            if any(v is None for v in given.values()):
                previous = dict(self.cloudformation_backend.get_stack(self._get_param("StackName")).parameters)
            check(cfn_models.Stack.parse_template(body), given, previous)
        return original(self)

    for name in ("create_stack", "update_stack", "create_change_set"):
        around(cfn_responses.CloudFormationResponse, name)(checked)
