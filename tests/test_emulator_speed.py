"""The emulator's shortcuts (xacct/sandbox/speed.py and each service's speed.py) change no answer: templates parse to what moto's
own loader makes of them, KMS keys still sign and verify, and a new account still gets its backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import CFN, REGION, session
from xacct.sandbox.emulator import Emulator

TEMPLATES = sorted(CFN.glob("*.yaml")) + sorted((CFN.parent / "tests" / "data").rglob("*.yaml"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_template_parses_as_moto_parses_it(path: Path) -> None:
    from moto.cloudformation import models

    from xacct.sandbox.cloudformation.speed import constructor
    from xacct.sandbox.install import install

    install()
    text = path.read_text()
    # what moto's parse_template does, in Python, with the emulator's one correction (!Condition)
    yaml.add_multi_constructor("", constructor)
    assert models.Stack.parse_template(text) == yaml.load(text, Loader=yaml.Loader)


def test_a_json_template_still_parses() -> None:
    from moto.cloudformation import models

    from xacct.sandbox.install import install

    install()
    body = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "a\tb"}}}}
    assert models.Stack.parse_template(json.dumps(body, indent="\t")) == body


def test_keys_made_without_their_private_half_still_sign_and_verify(aws: Emulator) -> None:
    kms = session("build").client("kms", region_name=REGION)
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=symmetric, Plaintext=b"artifact")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"artifact"
    signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signature = kms.sign(KeyId=signing, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    verdict = kms.verify(KeyId=signing, Message=b"m", Signature=signature, SigningAlgorithm="RSASSA_PSS_SHA_256")
    assert verdict["SignatureValid"]
    assert kms.get_public_key(KeyId=signing)["PublicKey"]


def test_an_account_never_seen_gets_its_own_state(aws: Emulator) -> None:
    from moto.s3.models import s3_backends

    fresh = "987654321098"
    assert fresh not in s3_backends
    s3_backends[fresh]["aws"].create_bucket("only-in-the-fresh-account", REGION)
    assert "only-in-the-fresh-account" in s3_backends[fresh]["aws"].buckets
    assert "only-in-the-fresh-account" not in s3_backends["111111111111"]["aws"].buckets


def test_a_template_parsed_once_gives_every_stack_its_own_copy() -> None:
    from moto.cloudformation import models

    from xacct.sandbox.install import install

    install()
    text = (CFN / "CrossAccountDeveloper.yaml").read_text()
    first = models.Stack.parse_template(text)
    first["Resources"].clear()  # what one stack does to its template stays its own
    assert models.Stack.parse_template(text)["Resources"]


def test_an_access_key_is_its_accounts_and_a_deleted_one_nobodys(aws: Emulator) -> None:
    import boto3

    iam = session("dev1").client("iam")
    iam.create_user(UserName="someone")
    key = iam.create_access_key(UserName="someone")["AccessKey"]

    def whoami() -> str:
        sts = boto3.client(
            "sts",
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        return str(sts.get_caller_identity()["Account"])

    from tests.conftest import DEV1

    assert whoami() == DEV1
    assert whoami() == DEV1  # remembered, and still right
    iam.delete_access_key(UserName="someone", AccessKeyId=key["AccessKeyId"])
    import botocore.exceptions as bx

    with pytest.raises(bx.ClientError) as refused:
        whoami()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_errors_and_actions_answer_as_moto_answers_them(aws: Emulator) -> None:
    """One error table per service and one method list per response class: the same answers."""
    import inspect

    import botocore.exceptions as bx
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core import errors, responses
    from moto.core.utils import get_service_model
    from moto.s3.responses import S3Response

    names_of = responses.method_names_from_class  # type: ignore[attr-defined]
    for cls in (CloudFormationResponse, S3Response):
        expected = [name for name, _ in inspect.getmembers(cls, predicate=inspect.isfunction)]
        assert names_of(cls) == expected
    assert "list_stack_sets" in names_of(CloudFormationResponse)  # the emulator's own
    model = get_service_model("cloudformation")
    shared = errors.ErrorLookupFactory().for_service(model)
    assert errors.ErrorLookupFactory().for_service(model) is shared
    assert shared.from_code("AlreadyExistsException") is not None
    fresh = errors.ErrorLookupFactory._create_error_lut(model)
    for code in ("AlreadyExistsException", "ValidationError", "ChangeSetNotFound", "NoSuchCode"):
        ours, theirs = shared.from_code(code), fresh.from_code(code)
        assert getattr(ours, "error_code", None) == getattr(theirs, "error_code", None)
    cfn = session("build").client("cloudformation", region_name=REGION)
    for _ in range(2):  # the second answer from the shared table
        with pytest.raises(bx.ClientError) as missing:
            cfn.describe_stacks(StackName="never-made")
        assert missing.value.response["Error"]["Code"] == "ValidationError"
        assert "never-made does not exist" in missing.value.response["Error"]["Message"]
