"""Secrets out of anything printed: --debug's request logs and error lines alike.

What botocore logs at DEBUG includes request headers (Authorization with the access key id and
signature, X-Amz-Security-Token) and response bodies (AssumeRole's credentials). Pure.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    (re.compile(r"(Credential=)[A-Z0-9]{16,128}"), r"\1***"),
    (re.compile(r"(Signature=)[0-9a-f]{64}"), r"\1***"),
    (re.compile(r"((?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{12,124})"), "***"),
    (
        re.compile(r"('?(?:X-Amz-Security-Token|x-amz-security-token|Authorization)'?\s*[:=]\s*b?['\"]?)[^'\",}\s]+"),
        r"\1***",
    ),
    (re.compile(r"(<(SessionToken|SecretAccessKey|AccessKeyId)>)[^<]*(</\2>)"), r"\1***\3"),
    (
        re.compile(
            r"((?:aws_secret_access_key|aws_session_token|SecretAccessKey|SessionToken)['\"]?\s*[:=]\s*['\"]?)[^'\",}\s]+"
        ),
        r"\1***",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class Redacting(logging.Filter):
    """Rewrites every record's message before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True
