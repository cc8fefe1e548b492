"""moto's CloudWatch Logs names the emulator uses: the one place they are imported."""

from moto.logs.models import LogGroup, logs_backends

__all__ = ["LogGroup", "logs_backends"]
