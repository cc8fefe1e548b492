"""One gateway per (profile, region): the only place sessions and clients are made."""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import boto3
import botocore.exceptions as bx
from botocore.config import Config

from xacct.aws import aws_files
from xacct.errors import AwsFailure, InvalidInput

if TYPE_CHECKING:  # the stubs are a development dependency; at run time these are plain clients
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=10, read_timeout=60)
# Who a profile is (STS, and the AssumeRole or SSO call behind the profile's credentials) is the
# first thing a run asks: an endpoint that cannot be reached is said in seconds, not after ten
# adaptive retries. Two attempts in all (`total_max_attempts`; `max_attempts` counts retries only).
# A synchronous Lambda invocation answers when the function returns (up to its 15-minute limit);
# the sync the tool asks for spends about 20 s, plus the copies already in flight.
_INVOKE = Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=10, read_timeout=900)
_FIRST_CONTACT = Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=3, read_timeout=15)


def who(profile: str | None) -> str:
    """The identity a profile names, as a refusal says it (None: the default credential chain)."""
    return f"profile {profile!r}" if profile else "the default credential chain"


def describe_error(exc: Exception, profile: str | None) -> InvalidInput | AwsFailure | None:
    """Credential and connection failures as one line for a person; None for anything else."""
    named = who(profile)
    login = f"aws sso login --profile {profile}" if profile else "aws sso login"
    if isinstance(exc, bx.ProfileNotFound):
        return InvalidInput(f"{named} is not configured", hint="aws configure list-profiles")
    if isinstance(exc, bx.UnauthorizedSSOTokenError | bx.SSOTokenLoadError | bx.TokenRetrievalError):
        return InvalidInput(f"the SSO session of {named} has expired or never started", hint=login)
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return InvalidInput(
            f"{named} has no usable credentials",
            hint=f"aws configure --profile {profile}"
            if profile
            else "aws configure sso (or try the tool with --sandbox)",
        )
    if isinstance(exc, bx.ConnectionError | bx.ConnectionClosedError | bx.ReadTimeoutError):  # refused, closed, slow
        return AwsFailure(
            f"cannot reach AWS for {named}: {exc}",
            hint="check the network, a proxy (HTTPS_PROXY) or the endpoint (AWS_ENDPOINT_URL), then run again",
        )
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ResponseParserError):
        return AwsFailure(
            f"the endpoint for {named} answered with something that is not an AWS response",
            hint="check a proxy (HTTPS_PROXY) or the endpoint (AWS_ENDPOINT_URL), then run again",
        )
    if isinstance(exc, bx.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            return InvalidInput(f"the credentials of {named} have expired", hint=login)
        if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"):
            return InvalidInput(f"the credentials of {named} are not accepted by AWS ({code})")
        if code == "AccessDenied" and exc.operation_name == "AssumeRole":
            return InvalidInput(f"{named} cannot assume its role: {exc.response['Error'].get('Message')}")
        if code in ("AccessDenied", "AccessDeniedException"):
            # AWS's message names the identity, the action and the resource; what to do is ours to say.
            said = exc.response["Error"].get("Message") or f"{exc.operation_name} was refused"
            return AwsFailure(
                f"{exc.operation_name} was refused: {said}",
                hint="the identity needs the operator's policy: python onboard.py --print-policy build "
                "and build-cloudformation (or developer, organization) print it; where AWS's sentence names "
                "an explicit deny, a service control or resource policy refuses it instead; nothing was changed "
                "by this call",
            )
    return None


@functools.cache
def _partition(region: str) -> str:
    """The partition of a region, from botocore's endpoint data (resolved once per run)."""
    return str(aws_files.Session().get_partition_for_region(region))


@dataclass
class Gateway:
    """Sessions, clients and the identity check for one profile in one region."""

    profile: str | None
    region: str
    label: str  # "build" or "developer", for messages
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _session: boto3.Session | None = field(default=None, repr=False)
    _account: str | None = None

    @property
    def session(self) -> boto3.Session:
        with self._lock:
            if self._session is None:
                try:
                    core = aws_files.Session(profile=self.profile or None)
                    core.get_scoped_config()  # an unknown profile is said here, as boto3.Session would
                    core.set_default_client_config(_FIRST_CONTACT)  # clients made with their own config override it
                    self._session = boto3.Session(botocore_session=core, region_name=self.region)
                except Exception as exc:
                    raise describe_error(exc, self.profile) or exc from exc
            return self._session

    @classmethod
    def assumed(cls, credentials: Mapping[str, Any], region: str, label: str) -> Gateway:
        """A gateway with a role's temporary credentials (an AssumeRole answer's Credentials), its
        service models shared with every other session of the run (--verify --all makes one for
        each developer)."""
        core = aws_files.Session()
        core.set_credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
        core.set_default_client_config(_FIRST_CONTACT)
        session = boto3.Session(botocore_session=core, region_name=region)
        return cls(None, region, label, _session=session)

    def _client(self, service: str) -> Any:
        session = self.session
        with self._lock:
            # Clients are thread-safe once made; making them is not.
            if service not in self._clients:
                config = {"sts": _FIRST_CONTACT, "lambda": _INVOKE}.get(service, _CONFIG)
                self._clients[service] = session.client(service, config=config)  # type: ignore[call-overload]
            return self._clients[service]

    # One typed property per service the tool uses (boto3-stubs give each client its type).

    @property
    def cfn(self) -> CloudFormationClient:
        return cast("CloudFormationClient", self._client("cloudformation"))

    @property
    def s3(self) -> S3Client:
        return cast("S3Client", self._client("s3"))

    @property
    def ssm(self) -> SSMClient:
        return cast("SSMClient", self._client("ssm"))

    @property
    def logs(self) -> Any:  # no stubs for CloudWatch Logs among the development dependencies
        return self._client("logs")

    @property
    def cloudwatch(self) -> Any:  # no stubs for CloudWatch among the development dependencies
        return self._client("cloudwatch")

    @property
    def sns(self) -> Any:  # no stubs for SNS among the development dependencies
        return self._client("sns")

    @property
    def lambda_(self) -> Any:
        return self._client("lambda")

    @property
    def organizations(self) -> Any:  # no stubs for Organizations among the development dependencies
        return self._client("organizations")

    @property
    def kms(self) -> KMSClient:
        return cast("KMSClient", self._client("kms"))

    @property
    def iam(self) -> IAMClient:
        return cast("IAMClient", self._client("iam"))

    @property
    def sts(self) -> STSClient:
        return cast("STSClient", self._client("sts"))

    def account(self) -> str:
        """The account this profile really reaches (STS), once."""
        if self._account is None:
            try:
                self._account = str(self.sts.get_caller_identity()["Account"])
            except Exception as exc:
                raise describe_error(exc, self.profile) or exc from exc
        return self._account

    def check_account(self, expected: str) -> None:
        actual = self.account()
        if actual != expected:
            raise InvalidInput(
                f"profile {self.profile!r} reaches account {actual}, not the {self.label} account {expected} you gave"
            )

    def _staging_bucket(self, bucket: str, account: str) -> None:
        try:
            self.s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
            return
        except bx.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
        where = {} if self.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        try:
            self.s3.create_bucket(Bucket=bucket, **where)  # type: ignore[arg-type]
        except bx.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                raise
        block = dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        )
        self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)  # type: ignore[arg-type]
        rule: Any = {"ID": "StagedTemplates", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}
        self.s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})

    @property
    def partition(self) -> str:
        return _partition(self.region)

    def stage_code(self, key: str, body: bytes) -> str:
        """A function's code, where CloudFormation's Lambda reads it when the function is created or
        updated (the same staging bucket as templates: Lambda keeps its own copy, so a day is enough)."""
        account = self.account()
        bucket = f"xacct-templates-{account}-{self.region}"
        self._staging_bucket(bucket, account)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ExpectedBucketOwner=account)
        return bucket

    def stage_template(self, stack: str, template: str) -> str:
        """A template too large to send inline, put where CloudFormation reads it (TemplateURL, a
        bucket of the same account and region). As the CloudFormation console keeps uploads in a
        `cf-templates-*` bucket it creates on first use, this is a private staging bucket made on
        first use: the stack being created may be the one that would make any other bucket, and
        the build bucket's every new object goes to every developer. Named by content, so a retry
        writes the same object; objects expire after a day."""
        import hashlib

        account = self.account()
        bucket = f"xacct-templates-{account}-{self.region}"
        self._staging_bucket(bucket, account)
        key = f"xacct/templates/{stack}/{hashlib.sha256(template.encode()).hexdigest()[:16]}.yaml"
        self.s3.put_object(Bucket=bucket, Key=key, Body=template.encode(), ExpectedBucketOwner=account)
        suffix = ".cn" if self.partition == "aws-cn" else ""
        return f"https://{bucket}.s3.{self.region}.amazonaws.com{suffix}/{key}"
