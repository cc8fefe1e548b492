"""The emulator checked against AWS's documented answers (conftest.py says how to run it on AWS)."""
