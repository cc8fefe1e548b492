"""Sessions and credentials: one clear line, never a traceback."""

from __future__ import annotations

import builtins

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
    assert r.code == 2
    assert "pip install -e '.[sandbox]'" in r.err
