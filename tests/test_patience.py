"""Waiting for IAM (xacct/aws/patience.py): a use of a grant just made that is refused is asked again
with backoff, for up to the patience, said once; anything else is the caller's at once."""

from __future__ import annotations

import botocore.exceptions as bx
import pytest

from xacct.aws.backfill import _refusals_only
from xacct.aws.patience import Patience


def error(code: str, message: str = "") -> bx.ClientError:
    return bx.ClientError({"Error": {"Code": code, "Message": message}}, "AssumeRole")


def test_a_refusal_is_asked_again_with_backoff_and_said_once() -> None:
    said: list[str] = []
    slept: list[float] = []
    refusals = [error("AccessDenied"), error("AccessDenied"), error("AccessDeniedException")]

    def use() -> str:
        if refusals:
            raise refusals.pop(0)
        return "done"

    waiting = Patience(said.append, sleep=slept.append, seconds=60)
    assert waiting.call(use, "assuming the reader role") == "done"
    assert slept == [1.0, 2.0, 4.0]
    assert waiting.waited == 7.0
    assert len(said) == 1
    assert said[0].startswith("waiting for IAM: assuming the reader role was refused (AccessDenied)")


def test_anything_but_a_refusal_and_a_refusal_past_the_patience_are_the_callers() -> None:
    slept: list[float] = []
    throttled = Patience(lambda _: None, sleep=slept.append)
    with pytest.raises(bx.ClientError, match="Throttling"):
        throttled.call(lambda: (_ for _ in ()).throw(error("Throttling")), "x")
    assert slept == []
    impatient = Patience(lambda _: None, sleep=slept.append, seconds=0)
    with pytest.raises(bx.ClientError, match="AccessDenied"):
        impatient.call(lambda: (_ for _ in ()).throw(error("AccessDenied")), "x")
    assert slept == []


def test_a_sync_is_tried_again_only_for_refusals_the_function_expects_to_pass() -> None:
    denied = {"reason": "AccessDenied: not authorized to perform: s3:PutObject", "permanent": False}
    assert _refusals_only([denied, denied])
    assert not _refusals_only([])
    assert not _refusals_only([denied, {"reason": "NoSuchBucket: gone", "permanent": True}])
    assert not _refusals_only([{**denied, "permanent": True}])  # refused long after it was registered
