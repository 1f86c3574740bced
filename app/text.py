"""Text as people type it, made comparable without changing what they meant."""
import unicodedata

# Full-width letters, digits and the ideographic space as their plain forms; Chinese punctuation
# (，。（）：) stays as typed. NFKC turned "偶有延迟，已结清" into "偶有延迟,已结清" on every save.
_WIDTH = {code: code - 0xFEE0 for code in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]}
_WIDTH[0x3000] = 0x20


def fold_width(value) -> str:
    return unicodedata.normalize("NFC", str(value or "")).translate(_WIDTH)


def list_text(items) -> str:
    """Items as a list in the language in force: "A、B和C", "A, B, and C" (pages and reports)."""
    from babel.lists import format_list
    from flask_babel import get_locale

    items = [str(item) for item in items]
    return format_list(items, locale=get_locale() or "zh_Hans") if items else ""
