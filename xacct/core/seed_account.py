"""A developer account that holds the seed project's stacks (deployed by its developer.sh): what
onboarding does with each. Pure.

- The seed's primary stack is adopted, as --adopt does for the central one (adopt.py): its key,
  buckets and exports kept, its template this project's.
- The seed's developer stack holds the build bucket's one policy; it is moved to this project's
  developer template first, which hands the bucket policy over to the primary stack (a bucket has
  one policy, and one resource owns it).
- The seed's deploy stack is kept as it is: its roles (CrossAccountCodePipeline,
  CrossAccountCloudFormation) are the ones the reader's own pipelines use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from xacct.core import adopt
from xacct.core.plan import StackStep
from xacct.core.templates import template
from xacct.errors import InvalidInput


@dataclass(frozen=True)
class SeedAccount:
    steps: dict[str, StackStep]  # stack -> its step, for the stacks that hold the seed's templates
    adoption: adopt.Adoption | None
    notes: tuple[str, ...]


def plan(
    names: Mapping[str, str],  # kind -> stack name
    seed_templates: Mapping[str, str],  # stack -> the seed's template it holds
    primary_parameters: Mapping[str, str],
    primary_outputs: Mapping[str, str],
    pseudo: Mapping[str, str],
) -> SeedAccount:
    steps: dict[str, StackStep] = {}
    notes: list[str] = []
    moved = None
    primary, deploy, developer = (
        names["CrossAccountPrimary"],
        names["CrossAccountDeploy"],
        names["CrossAccountDeveloper"],
    )
    if primary in seed_templates:
        moved = adopt.adoption(
            primary,
            seed_templates[primary],
            template("CrossAccountPrimary"),
            state_parameters=primary_parameters,
            outputs=primary_outputs,
            pseudo=pseudo,
        )
        if moved.dangers:
            raise InvalidInput(
                f"adopting the developer's seed stack {primary} would lose what it holds ({'; '.join(moved.dangers)}); "
                "nothing was changed"
            )
        steps[primary] = StackStep(
            primary, "update", "adopted: the seed's template becomes this project's; key, buckets, exports kept"
        )
        notes.append(
            f"{primary} holds the seed project's template: it is adopted in place (its key, buckets with their "
            "objects and exports kept; nothing replaced)"
        )
    if deploy in seed_templates:
        steps[deploy] = StackStep(deploy, "none", "the seed's deploy stack, kept: its roles serve your pipelines")
    if developer in seed_templates:
        steps[developer] = StackStep(
            developer, "update", "the seed's developer stack: its bucket policy moves to the primary"
        )
        notes.append(
            f"{developer} holds the seed's bucket policy; it is updated first and {primary} then takes the policy "
            "over, so for the minute between the two the central role cannot write into the bucket (a replicated "
            "build that arrives then is retried)"
        )
    return SeedAccount(steps, moved, tuple(notes))
