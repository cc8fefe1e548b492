"""moto's IAM and STS names the emulator uses: the one place they are imported."""

from moto.iam import models as iam_models
from moto.iam.access_control import (
    AssumedRoleAccessKey,
    CreateAccessKeyFailure,
    IAMPolicy,
    PermissionResult,
    create_access_key,
)
from moto.iam.exceptions import LimitExceededException, MalformedPolicyDocument
from moto.iam.models import iam_backends  # get_account_id_from: iam_models's, as iam/speed.py makes it
from moto.sts.models import sts_backends

__all__ = [
    "AssumedRoleAccessKey",
    "CreateAccessKeyFailure",
    "IAMPolicy",
    "LimitExceededException",
    "MalformedPolicyDocument",
    "PermissionResult",
    "create_access_key",
    "iam_backends",
    "iam_models",
    "sts_backends",
]
