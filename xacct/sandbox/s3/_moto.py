"""moto's S3 names the emulator uses: the one place they are imported."""

from moto.s3 import models as s3_models
from moto.s3 import notifications as s3_notifications
from moto.s3.exceptions import BucketNotEmpty, InvalidArgumentError, S3ClientError
from moto.s3.models import s3_backends

__all__ = ["BucketNotEmpty", "InvalidArgumentError", "S3ClientError", "s3_backends", "s3_models", "s3_notifications"]
