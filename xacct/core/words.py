"""Counting in words: "1 developer", "2 developers"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def these(n: int) -> str:
    """What a question names: "this developer", "these 3 developers"."""
    return "this developer" if n == 1 else f"these {n} developers"
