"""xacct: onboard developer AWS accounts onto a cross-account artifact pipeline."""

__version__ = "0.1.0"
