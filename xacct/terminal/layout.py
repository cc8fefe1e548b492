"""Fitting lines to the terminal without losing a character: break at spaces, else just after an
ARN's or a URL's separators (`:` `/` `,` `?` `&` `=`) or before a URL's `%` escape, and fold only a
run with none of those that is wider than the whole line. Never crop. Pure: the rule is tested by
property on plain strings; `fit` applies it to rich Text so styles and links survive the breaks."""

from __future__ import annotations

from rich.text import Text

SEPARATORS = frozenset(":/,?&=")


def breaks(plain: str, width: int, hang: int = 0) -> list[tuple[int, int]]:
    """The (start, end) of each line `plain` is cut into: the first line at most `width` wide, the
    others at most `width - hang` (they are indented by `hang`). A space at a break is dropped;
    every other character is kept, in order."""
    width = max(width, 1)
    spans: list[tuple[int, int]] = []
    start, room = 0, width
    while len(plain) - start > room:
        window = plain[start : start + room + 1]
        space = window.rfind(" ")
        if space > 0 and window[:space].strip():  # a space after words, not the indent
            spans.append((start, start + space))
            start += space + 1
        else:
            cut = max((i for i in range(room) if window[i] in SEPARATORS or window[i + 1] == "%"), default=-1)
            end = start + (cut + 1 if cut >= 0 else room)
            spans.append((start, end))
            start = end
        room = max(width - hang, 1)
    spans.append((start, len(plain)))
    return spans


def wrap(plain: str, width: int, hang: int = 0) -> list[str]:
    """`plain` as lines, continuation lines indented by `hang` spaces."""
    lines = [plain[a:b] for a, b in breaks(plain, width, hang)]
    return [lines[0], *(" " * hang + line for line in lines[1:])]


def fit(text: Text, width: int, hang: int = 0) -> list[Text]:
    """`text` as lines no wider than `width`, styles kept."""
    out = []
    for n, (a, b) in enumerate(breaks(text.plain, width, hang)):
        line = text[a:b]
        out.append(Text(" " * hang) + line if n else line)
    return out


def hang_for(value: str, width: int, preferred: int) -> int:
    """The indent for a value on a line of its own: `preferred`, or less (never under 2) when that
    keeps it whole on one line."""
    room = width - len(value)
    return preferred if room >= preferred or room < 2 else room
