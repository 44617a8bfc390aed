"""``render.split`` (issue 13, items 5 and 6): every part fits, is HTML Telegram parses on its own, and the parts
read as the whole; a cut never falls inside a tag or an entity."""

from __future__ import annotations

from html import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram_ui import render
from tests.fakes.telegram_html import shown

OPENING = {"b": "<b>", "strong": "<strong>", "i": "<i>", "u": "<u>", "s": "<s>", "code": "<code>", "pre": "<pre>",
           "a": '<a href="https://example.com/q?a=1&amp;b=2">', "span": '<span class="tg-spoiler">',
           "tg-spoiler": "<tg-spoiler>", "blockquote": "<blockquote>"}
_RUNS = st.builds(lambda piece, n: piece * n, st.sampled_from(["x", "&", "\n", " ", "é", "word ", "<>", "🙂"]),
                  st.integers(0, 150))
_TEXT = st.one_of(st.text(max_size=60), _RUNS).map(escape)


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda tag, kids: OPENING[tag] + "".join(kids) + f"</{tag}>", st.sampled_from(sorted(OPENING)),
                     st.lists(children, max_size=4))


HTML = st.lists(st.recursive(_TEXT, _element, max_leaves=12), max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(html=HTML, limit=st.integers(min_value=120, max_value=700))
def test_every_part_fits_parses_alone_and_the_parts_read_as_the_whole(html: str, limit: int) -> None:
    parts = render.split(html, limit)
    assert parts and all(len(part) <= limit for part in parts)
    assert "".join(shown(part) for part in parts) == shown(html)  # shown() raises if Telegram would refuse a part
    if len(html) <= limit:
        assert parts == [html]


@settings(max_examples=40, deadline=None)
@given(html=HTML.filter(lambda h: len(h) > 600), repeat=st.integers(8, 30))
def test_at_telegrams_limit_too(html: str, repeat: int) -> None:
    text = html * repeat
    parts = render.split(text)
    assert all(len(part) <= 4096 for part in parts)
    assert "".join(shown(part) for part in parts) == shown(text)


def test_a_long_italic_market_view_is_closed_and_reopened() -> None:
    view = "<i>" + "Rates are calm, breadth narrows. " * 300 + "</i>"
    parts = render.split(f"<b>Cycle</b> c1\n{view}\n⚠️ one alert")
    assert len(parts) == 3 and all(shown(p) for p in parts)
    assert parts[1].startswith("<i>") and parts[0].endswith("</i>") and parts[1].endswith("</i>")


def test_an_entity_at_the_cut_moves_whole_to_the_next_part() -> None:
    parts = render.split("x" * 4094 + "&amp;" + "y" * 10)
    assert parts == ["x" * 4094, "&amp;" + "y" * 10]


def test_tags_too_long_to_repeat_keep_the_words() -> None:
    html = f'<a href="https://example.com/{"p" * 200}">' + "word " * 100 + "</a>"
    parts = render.split(html, 150)
    assert all(len(p) <= 150 for p in parts) and "".join(map(shown, parts)) == shown(html)
