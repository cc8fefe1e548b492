"""Everything a person sees and types: the wizard, the plan and summary, progress while
CloudFormation works. Output goes through injected consoles (output.py)."""
