"""The embedded emulator and `--sandbox`: the only part of xacct that touches moto. moto's server
runs as strict as AWS (strict.py, wire.py, failures.py), its gaps closed towards AWS (gaps.py), and
functions run as Lambda runs them (lambda_runtime.py)."""
