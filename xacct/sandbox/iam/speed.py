"""Whose access key a request carries: moto looks through every account's IAM, every partition of
each, for every request (with 600 accounts, most of its CPU). Remembered once found, and checked still
there on every use (a deleted key is looked for again, and not found): the same answer, once."""

from __future__ import annotations

from xacct.sandbox._moto import DEFAULT_ACCOUNT_ID
from xacct.sandbox.iam._moto import iam_models
from xacct.sandbox.patching import replace


def install() -> None:
    known: dict[str, tuple[str, str]] = {}

    @replace(iam_models, "get_account_id_from")
    def get_account_id_from(access_key: str) -> str:
        hit = known.get(access_key)
        if hit is not None:
            backend = dict.get(iam_models.iam_backends, hit[0])  # never makes an account's backend
            if backend is not None and access_key in backend[hit[1]].access_keys:
                return hit[0]
        for account_id, account in list(iam_models.iam_backends.items()):
            for partition in iam_models.PARTITION_NAMES:  # type: ignore[attr-defined]
                if access_key in account[partition].access_keys:
                    known[access_key] = (account_id, partition)
                    return account_id
        return str(DEFAULT_ACCOUNT_ID)
