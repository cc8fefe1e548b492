"""Sessions and credentials: one clear line, never a traceback."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import botocore.exceptions as bx
import pytest

from tests.conftest import BUILD, DEV1, REGION, onboard_args, run_cli
from xacct.aws.gateway import describe_error
from xacct.errors import ExitCode
from xacct.sandbox.emulator import Emulator


def test_an_expired_sso_session_says_which_login_to_run() -> None:
    err = describe_error(bx.UnauthorizedSSOTokenError(), "dev-sso")
    assert err is not None
    assert err.exit_code == ExitCode.INVALID
    assert err.hint == "aws sso login --profile dev-sso"
    err = describe_error(bx.TokenRetrievalError(provider="sso", error_msg="expired"), "dev-sso")
    assert err is not None
    assert err.hint == "aws sso login --profile dev-sso"


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (bx.NoCredentialsError(), "has no usable credentials"),
        (bx.ProfileNotFound(profile="x"), "is not configured"),
        (bx.ClientError({"Error": {"Code": "ExpiredToken", "Message": "m"}}, "GetCallerIdentity"), "have expired"),
        (
            bx.ClientError({"Error": {"Code": "InvalidClientTokenId", "Message": "m"}}, "GetCallerIdentity"),
            "not accepted",
        ),
    ],
)
def test_credential_problems_are_one_line(exc: Exception, text: str) -> None:
    err = describe_error(exc, "p")
    assert err is not None
    assert text in err.message
    assert "\n" not in err.message


def test_the_default_chain_with_nothing_in_it_is_said_in_agreeing_words() -> None:
    err = describe_error(bx.NoCredentialsError(), None)
    assert err is not None
    assert err.message == "the default credential chain has no usable credentials"


def test_an_unknown_profile_exits_2_in_one_line(aws: Emulator) -> None:
    r = run_cli(*onboard_args("nope", DEV1), "--dry-run")
    assert r.code == 2
    assert r.err.startswith("error: profile 'nope' is not configured")
    assert "Traceback" not in r.err


def test_a_profile_reaching_the_wrong_account_names_both_accounts_and_the_profile(aws: Emulator) -> None:
    r = run_cli("--build-account", "999999999999", "--build-region", REGION, "--build-profile", "build",
                "--dev-account", DEV1, "--dev-region", REGION, "--dev-profile", "dev1", "--dry-run")  # fmt: skip
    assert r.code == 2
    assert f"profile 'build' reaches account {BUILD}, not the build account 999999999999" in r.err


def test_the_sandbox_without_moto_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_moto(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name.startswith("moto"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_moto)
    r = run_cli("--sandbox", "--yes")
    assert r.code == 2, r.err + r.out
    assert "pip install -e '.[sandbox]'" in r.err


@pytest.mark.parametrize("env_region", [None, "eu-west-1"])
@pytest.mark.parametrize("env_profile", [None, "with-region", "missing"])
@pytest.mark.parametrize("profile", [None, "with-region", "without-region", "only-credentials", "missing"])
def test_a_profiles_region_is_what_botocore_resolves(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env_region: str | None,
    env_profile: str | None,
    profile: str | None,
) -> None:
    """The region is read from files parsed once for a whole batch; it must be botocore's answer."""
    import botocore.session

    from xacct.aws.identity import profile_region

    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(
        "[default]\nregion = ap-south-1\n[profile with-region]\nregion = us-west-2\n[profile without-region]\noutput = json\n"
    )
    credentials.write_text("[only-credentials]\naws_access_key_id = A\naws_secret_access_key = B\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    for name, value in (("AWS_DEFAULT_REGION", env_region), ("AWS_PROFILE", env_profile)):
        monkeypatch.delenv(name, raising=False)
        if value:
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_DEFAULT_PROFILE", raising=False)
    try:
        expected = botocore.session.Session(profile=profile).get_config_variable("region")
    except bx.ProfileNotFound:
        expected = None
    assert profile_region(profile) == expected
    config.write_text("[default]\nregion = sa-east-1\n[profile with-region]\nregion = ca-central-1\n")
    try:
        changed = botocore.session.Session(profile=profile).get_config_variable("region")
    except bx.ProfileNotFound:
        changed = None
    assert profile_region(profile) == changed  # the files changed: read again


def test_sessions_share_one_parse_of_the_aws_files_and_answer_as_botocore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch's sessions read the files once; each must still resolve what a plain session does."""
    import botocore.configloader
    import botocore.session

    from xacct.aws import aws_files

    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(
        "[default]\nregion = ap-south-1\nretry_mode = adaptive\n"
        "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = keys\n"
        "region = us-west-2\nsts_regional_endpoints = legacy\nmax_attempts = 7\n"
        + "".join(f"[profile p{n}]\nregion = eu-west-1\n" for n in range(300))
    )
    credentials.write_text("[keys]\naws_access_key_id = AKIAKEYS\naws_secret_access_key = secret\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    parses = []
    real = botocore.configloader.load_config

    def counted(path: str) -> Any:
        parses.append(path)
        return real(path)

    monkeypatch.setattr(botocore.configloader, "load_config", counted)
    variables = ("region", "retry_mode", "max_attempts", "sts_regional_endpoints", "profile")
    ours_parsed = 0
    for profile in (None, "role", "keys", "p299"):
        ours, plain = aws_files.Session(profile=profile), botocore.session.Session(profile=profile)
        before = len(parses)
        read = (ours.get_scoped_config(), ours.available_profiles, [ours.get_config_variable(v) for v in variables])
        ours.create_client("s3", region_name="us-east-1", aws_access_key_id="A", aws_secret_access_key="B")
        ours_parsed += len(parses) - before
        assert read == (
            plain.get_scoped_config(),
            plain.available_profiles,
            [plain.get_config_variable(v) for v in variables],
        )
        # (botocore's credential provider for keys in the config file parses that file itself)
        assert _where_from(ours.get_credentials()) == _where_from(plain.get_credentials())
    assert ours_parsed == 1  # for four sessions (each plain one parsed the files for itself)
    assert aws_files.Session().full_config == botocore.session.Session().full_config  # nothing wrote into it

    kept = aws_files.Session(profile="role")
    kept.get_scoped_config()
    config.write_text("[profile role]\nregion = ca-central-1\n")
    assert aws_files.Session(profile="role").get_config_variable("region") == "ca-central-1"  # made after
    assert kept.get_config_variable("region") == "us-west-2"  # a session keeps what it read, as botocore's


def test_sessions_have_botocores_built_in_handlers_each_its_own() -> None:
    """Sessions copy the built-in handlers one plain session registered: the same handlers for every
    event, and what one session registers stays its own."""
    import botocore.handlers
    import botocore.session

    from xacct.aws import aws_files

    def handlers(session: Any, event: str) -> list[Any]:
        return list(session.get_component("event_emitter")._emitter._handlers.prefix_search(event))

    ours, other, plain = aws_files.Session(), aws_files.Session(), botocore.session.Session()
    events = {spec[0] for spec in botocore.handlers.BUILTIN_HANDLERS}
    events |= {"before-parameter-build.s3.PutObject", "needs-retry.sts.AssumeRole", "creating-client-class.s3"}
    assert len(events) > 50
    for event in sorted(events):
        assert handlers(ours, event) == handlers(plain, event), event

    def mine(**_: Any) -> None:
        return None

    ours.register("before-call.s3.PutObject", mine)
    assert mine in handlers(ours, "before-call.s3.PutObject")
    assert mine not in handlers(other, "before-call.s3.PutObject")
    assert mine not in handlers(aws_files.Session(), "before-call.s3.PutObject")
    client = other.create_client("s3", region_name="eu-west-1", aws_access_key_id="A", aws_secret_access_key="B")
    assert client.meta.method_to_api_mapping["put_object"] == "PutObject"  # a client works from a copy


def _where_from(credentials: Any) -> tuple[str, str] | None:
    """Which provider answered, and the key where it is static (an assumed role's is not fetched)."""
    if credentials is None:
        return None
    return credentials.method, "" if credentials.method == "assume-role" else credentials.access_key


def test_sessions_share_one_data_loader_and_read_the_same_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One loader for every session (per AWS_DATA_PATH): the same service models and endpoints as a
    plain session's, boto3's data folder searched once however many sessions boto3 makes, and a
    different AWS_DATA_PATH honoured with a loader of its own."""
    import boto3
    import botocore.session

    from xacct.aws import aws_files

    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    first, second = aws_files.Session(), aws_files.Session()
    assert first.get_component("data_loader") is second.get_component("data_loader")
    for _ in range(5):
        boto3.Session(botocore_session=aws_files.Session(), region_name="eu-west-1").client("s3")
    paths = first.get_component("data_loader").search_paths
    assert len(paths) == len(set(paths))
    plain = botocore.session.Session()
    for service in ("cloudformation", "s3", "kms", "sts"):
        assert first.get_service_model(service).operation_names == plain.get_service_model(service).operation_names
    assert first.get_available_regions("s3") == plain.get_available_regions("s3")

    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    elsewhere = aws_files.Session()
    assert elsewhere.get_component("data_loader") is not first.get_component("data_loader")
    assert str(tmp_path) in elsewhere.get_component("data_loader").search_paths
