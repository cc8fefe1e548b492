"""Code that runs inside AWS Lambda rather than in this tool: inlined into cfn/CrossAccountPrimary.yaml
by tools/inline_replicator.py (a test keeps the two identical)."""
