"""moto's KMS names the emulator uses: the one place they are imported."""

from moto.kms import models as kms_models
from moto.kms import responses as kms_responses
from moto.kms.models import kms_backends

__all__ = ["kms_backends", "kms_models", "kms_responses"]
