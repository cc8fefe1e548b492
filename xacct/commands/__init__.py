"""What a person asks for: onboard, remove, status, verify, break-lease. Each reads (aws), plans
(core), shows (terminal), confirms and applies (aws); `run.py` dispatches to them."""
