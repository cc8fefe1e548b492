#!/usr/bin/env python3
"""Onboard a developer account onto the cross-account pipeline. See README.md."""

from xacct.__main__ import main

if __name__ == "__main__":
    main()
