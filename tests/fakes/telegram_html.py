"""Telegram's HTML parse mode as the Bot API documents it, for the fake server and the tests.

https://core.telegram.org/bots/api#html-style: the supported tags, every numerical entity and only
the named entities ``&lt; &gt; &amp; &quot;``; every ``<`` and ``&`` that is not part of a tag or
an entity must be escaped (the documentation asks it of ``>`` too; Telegram accepts a bare one).
``shown`` returns the text a reader sees, or raises ``HtmlError`` with the words Telegram answers
when it refuses to parse a message ("can't parse entities: …").
"""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser

TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
                  "tg-emoji", "code", "pre", "blockquote"})
NAMED_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})


class HtmlError(ValueError):
    """Telegram would refuse this text: 400 "can't parse entities"."""


def shown(html: str) -> str:
    """The text Telegram shows for this HTML; ``HtmlError`` when it would refuse it."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    if parser.stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"')
    return "".join(parser.text)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            raise HtmlError(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise HtmlError(f'Unsupported start tag "{tag}/"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise HtmlError(f'Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or "&" in data:  # Telegram lets a bare ">" through
            raise HtmlError(f"Unexpected character in {data[:20]!r}: < and & must be escaped")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in NAMED_ENTITIES:
            raise HtmlError(f'Unsupported HTML entity "&{name};"')
        self.text.append(unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(unescape(f"&#{name};"))
