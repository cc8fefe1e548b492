"""moto's Organizations names the emulator uses (StackSets is moto's CloudFormation: its names are in
cloudformation/_moto.py): the one place they are imported."""

from moto.organizations import responses as organizations_responses
from moto.organizations.exceptions import OrganizationsClientError
from moto.organizations.models import (
    FakeAccount,
    FakeDelegatedAdministrator,
    OrganizationsBackend,
    organizations_backends,
)

__all__ = [
    "FakeAccount",
    "FakeDelegatedAdministrator",
    "OrganizationsBackend",
    "OrganizationsClientError",
    "organizations_backends",
    "organizations_responses",
]
