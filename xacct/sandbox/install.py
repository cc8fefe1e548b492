"""Every rule, gap and shortcut of the emulator, installed into moto once per process: the core's,
then each service's. Where two change the same moto method, the order here (and in each service's
`install`) is the order they wrap it in; propagation.py comes last, so that a change is recorded once
every rule has let it through."""

from __future__ import annotations

import threading

_DONE: list[bool] = []
_LOCK = threading.Lock()


def install() -> None:
    with _LOCK:
        if _DONE:
            return
        from xacct.sandbox import (
            awslambda,
            cloudformation,
            cloudwatch,
            iam,
            kms,
            logs,
            propagation,
            s3,
            sns,
            speed,
            ssm,
            stacksets,
        )
        from xacct.sandbox.iam import speed as iam_speed

        speed.install()
        iam_speed.install()
        cloudformation.install()
        iam.install()
        s3.install()
        kms.install()
        awslambda.install()
        ssm.install()
        logs.install()
        stacksets.install()
        sns.install()
        cloudwatch.install()
        propagation.install()
        _DONE.append(True)
