"""moto's Lambda names the emulator uses: the one place they are imported."""

from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import InvalidParameterValueException
from moto.awslambda.models import lambda_backends
from moto.awslambda.utils import get_backend as lambda_backend_of

__all__ = ["InvalidParameterValueException", "lambda_backend_of", "lambda_backends", "lambda_models"]
