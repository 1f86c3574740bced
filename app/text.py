"""Text as people type it, made comparable without changing what they meant."""
import unicodedata

# Full-width letters, digits and the ideographic space as their plain forms; Chinese punctuation
# (，。（）：) stays as typed. NFKC turned "偶有延迟，已结清" into "偶有延迟,已结清" on every save.
_WIDTH = {code: code - 0xFEE0 for code in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]}
_WIDTH[0x3000] = 0x20


# Direction overrides, embeddings and isolates (U+202A-U+202E, U+2066-U+2069): typed or pasted into
# a title, they reversed the text drawn after it on the same line (trial 26: a task queue's dates
# read backwards). No one types them on purpose; the letters of either direction stay as they are.
_DIRECTION = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def without_direction_overrides(value: str) -> str:
    return value.translate(_DIRECTION)


def fold_width(value) -> str:
    return unicodedata.normalize("NFC", str(value or "")).translate(_WIDTH)


def list_text(items) -> str:
    """Items as a list in the language in force: "A、B和C", "A, B, and C" (pages and reports)."""
    from babel.lists import format_list
    from flask_babel import get_locale

    items = [str(item) for item in items]
    return format_list(items, locale=get_locale() or "zh_Hans") if items else ""
