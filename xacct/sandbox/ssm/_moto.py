"""moto's Systems Manager names the emulator uses: the one place they are imported."""

from moto.ssm import models as ssm_models
from moto.ssm.exceptions import ValidationException

__all__ = ["ValidationException", "ssm_models"]
