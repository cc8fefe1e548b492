"""moto's CloudWatch names the emulator uses: the one place they are imported."""

from moto.cloudwatch import models as cloudwatch_models
from moto.cloudwatch.models import cloudwatch_backends

__all__ = ["cloudwatch_backends", "cloudwatch_models"]
