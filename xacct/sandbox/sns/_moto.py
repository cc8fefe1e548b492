"""moto's SNS names the emulator uses: the one place they are imported."""

from moto.sns import models as sns_models
from moto.sns import responses as sns_responses
from moto.sns.exceptions import SNSInvalidParameter
from moto.sns.models import sns_backends

__all__ = ["SNSInvalidParameter", "sns_backends", "sns_models", "sns_responses"]
