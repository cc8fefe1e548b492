"""An update that would change or remove an export another stack imports is refused before anything is
written, naming the export and its importer: CloudFormation would fail it and roll it back ("You can't
modify or remove an output value that is referenced by another stack")."""

from __future__ import annotations

import json

import pytest

from tests.conftest import cfn, stack
from xacct.aws.gateway import Gateway
from xacct.aws.stacks import Stacks
from xacct.commands.common import check_exports
from xacct.core import exports
from xacct.core.state import StackState
from xacct.errors import InvalidInput
from xacct.sandbox.emulator import Emulator

HANDLE = {"Type": "AWS::CloudFormation::WaitConditionHandle"}


def template(**outputs: str) -> str:
    """A stack of two handles exporting each NAME=Handle (its Ref)."""
    return json.dumps({
        "Resources": {"H": HANDLE, "J": HANDLE},
        "Outputs": {name: {"Value": {"Ref": ref}, "Export": {"Name": name}} for name, ref in outputs.items()},
    })  # fmt: skip


def test_which_exports_an_update_changes_or_removes() -> None:
    before = template(Bucket="H", Key="H")
    assert exports.changed(before, before) == {}
    assert exports.changed(before, template(Bucket="H", Key="J")) == {"Key": "updated"}
    assert exports.changed(before, template(Bucket="H")) == {"Key": "deleted"}
    assert exports.changed(before, template(Bucket="H", Key="H", More="J")) == {}  # a new export is fine
    assert exports.refusals("S", before, template(Bucket="H"), {"Key": []}) == []  # nobody imports it


def test_an_update_of_an_imported_export_is_refused_before_any_write(aws: Emulator) -> None:
    held = template(Bucket="H", Key="H")
    client = cfn("dev1")
    client.create_stack(StackName="Exporter", TemplateBody=held)
    importer = {"Resources": {"H": HANDLE}, "Outputs": {"Got": {"Value": {"Fn::ImportValue": "Key"}}}}
    client.create_stack(StackName="Importer", TemplateBody=json.dumps(importer))
    found = stack("Exporter", "dev1")
    assert found is not None
    state = StackState("Exporter", found["StackStatus"], stack_id=found["StackId"])
    stacks = Stacks(Gateway("dev1", "us-east-1", "developer").cfn)
    check_exports(stacks, state, held, template(Bucket="J", Key="H"))  # Bucket changes, but nobody imports it
    with pytest.raises(InvalidInput, match=r"would change its export Key, which Importer imports") as refused:
        check_exports(stacks, state, held, template(Bucket="H", Key="J"))
    assert "Export Key cannot be updated as it is in use by Importer" in refused.value.message
    with pytest.raises(InvalidInput, match=r"would remove its export Key, which Importer imports"):
        check_exports(stacks, state, held, template(Bucket="H"))
    assert stack("Exporter", "dev1")["StackStatus"] == "CREATE_COMPLETE"  # type: ignore[index]
