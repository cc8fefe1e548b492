"""Fitting lines to a terminal: by property, nothing is lost, nothing is wider than the terminal,
and a line breaks only where a person expects (a space, an ARN's or URL's separators)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text

from xacct.terminal.layout import SEPARATORS, breaks, fit, hang_for, wrap

KEY = "arn:aws:kms:eu-central-1:222222222222:key/0f8e2a44-5b1c-4d7e-9a61-3c2b1d0e9f87"
pieces = st.sampled_from(["arn:aws:s3:::", "xacct-build-", "222222222222", "/", ":", "key", " ", "%2F", "?a=b&c"])
texts = st.one_of(st.text(alphabet="ab :/-%,=", max_size=200), st.lists(pieces, max_size=40).map("".join))
widths = st.integers(min_value=1, max_value=120)


@given(texts, widths, st.integers(min_value=0, max_value=20))
def test_every_character_is_kept_in_order_and_every_line_fits(plain: str, width: int, hang: int) -> None:
    spans = breaks(plain, width, hang)
    assert spans[0][0] == 0
    assert spans[-1][1] == len(plain)
    room = [width] + [max(width - hang, 1)] * (len(spans) - 1)
    for (a, b), fits in zip(spans, room, strict=True):
        assert b - a <= fits
    for (_, end), (start, _) in itertools.pairwise(spans):
        # Between two lines: nothing, or the one space the break replaced.
        assert start == end or (start == end + 1 and plain[end] == " ")


@given(texts, widths)
def test_a_line_breaks_at_a_space_or_after_a_separator_unless_nothing_else_fits(plain: str, width: int) -> None:
    spans = breaks(plain, width)
    for (a, end), (start, _) in itertools.pairwise(spans):
        if start == end + 1 or plain[end - 1] in SEPARATORS or plain[end] == "%":
            continue  # at a space, after a separator, before a URL escape
        # A fold mid-word: only where the line offered no space after a word and no separator.
        assert not set(plain[a:end]) & SEPARATORS
        assert "%" not in plain[a + 1 : end + 1]
        assert " " not in plain[a : end + 1].lstrip(" ")


def test_a_key_arn_wraps_after_its_separators_and_reads_back_whole() -> None:
    assert wrap(KEY, 60, hang=4) == [
        "arn:aws:kms:eu-central-1:222222222222:key/",
        "    0f8e2a44-5b1c-4d7e-9a61-3c2b1d0e9f87",
    ]
    # After a word, the ARN starts a line of its own rather than breaking early.
    assert wrap(f"key {KEY}", 80) == ["key", KEY]


def test_words_are_never_split_when_a_space_will_do() -> None:
    lines = wrap("create CrossAccountPrimary in 222222222222 eu-central-1 CREATE_COMPLETE", 30)
    assert lines == ["create CrossAccountPrimary in", "222222222222 eu-central-1", "CREATE_COMPLETE"]


def test_styles_and_links_survive_the_breaks() -> None:
    text = Text("stack ") + Text(KEY, style="link https://example.com")
    lines = fit(text, 40, hang=2)
    assert "".join(line.plain.lstrip() for line in lines).replace(" ", "") == text.plain.replace(" ", "")
    assert all(span.style == "link https://example.com" for line in lines[1:] for span in line.spans)


def test_a_value_on_its_own_line_is_indented_less_rather_than_wrapped() -> None:
    assert hang_for(KEY, 120, 4) == 4
    assert hang_for(KEY, len(KEY) + 2, 4) == 2  # 2 still keeps it on one line
    assert hang_for(KEY, len(KEY), 4) == 4  # no indent keeps it whole: wrap it at the preferred one
