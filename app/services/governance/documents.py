"""A document's text as blocks a page or a PDF lays out: headings, paragraphs and list items.

Manuals, announcements and the privacy policy are written in the portal as plain text (pasted
from a word processor, typed on a phone): a line starting with ``#`` is a heading (``##`` a
sub-heading), a line starting with ``-`` or ``·`` an item of a list, and a blank line ends a
paragraph. No markup language is parsed and no HTML is ever taken from the text: every block
is escaped by the template, so a manual can carry nothing but words into a page or a PDF. (A
Markdown library would bring inline HTML with it, which then needs a sanitiser; these
documents need three kinds of block, nothing more.)
"""
from dataclasses import dataclass

BULLETS = ("- ", "· ", "• ", "* ")


@dataclass(frozen=True)
class Block:
    kind: str  # "h1", "h2", "p" or "ul"
    lines: tuple[str, ...]


def blocks(text: str | None) -> list[Block]:
    out: list[Block] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            out.append(Block("p", tuple(paragraph)))
            paragraph.clear()
        if items:
            out.append(Block("ul", tuple(items)))
            items.clear()

    for raw in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("#"):
            flush()
            level = len(line) - len(line.lstrip("#"))
            heading = line.lstrip("#").strip()
            if heading:
                out.append(Block("h1" if level == 1 else "h2", (heading,)))
        elif line.startswith(BULLETS):
            if paragraph:
                out.append(Block("p", tuple(paragraph)))
                paragraph.clear()
            items.append(line[2:].strip())
        else:
            if items:
                out.append(Block("ul", tuple(items)))
                items.clear()
            paragraph.append(line)
    flush()
    return out
