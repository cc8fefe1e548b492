"""Everything that talks to AWS: one gateway per account and region, the stack engine, the reads a
plan starts from, the scheduler that runs stack operations side by side, and the central update
with its lease."""
