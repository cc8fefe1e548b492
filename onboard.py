#!/usr/bin/env python3
"""Onboard a developer account onto the cross-account pipeline. See README.md."""

import sys

from xacct.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
