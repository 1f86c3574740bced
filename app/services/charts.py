"""Charts drawn on the server as SVG by pygal (issue 12): readable in Chinese and in print, the
same drawing on a page and in a PDF report, no script and nothing from the internet.

pygal would add a tooltip script from its CDN: ``js=[]`` keeps the portal offline; the portal's
font (vendored Noto Sans SC) draws the Chinese labels. Values are plain numbers (None: no figure,
a gap in a line, not a zero)."""
import re
import sys

import pygal
from markupsafe import Markup
from pygal.style import Style

from app.security.headers import style_nonce

# pygal puts an import hook on ``sys.meta_path`` (for its optional ``pygal.maps`` plug-ins) that
# has no ``find_spec``: every later import of a module not yet loaded then failed with
# "'PluginImportFixer' object has no attribute 'find_spec'" (Pillow loading olefile to read a
# photo upload). The portal uses no pygal maps: the hook is taken off again.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

FONT = "'Noto Sans SC', 'Noto Sans CJK SC', sans-serif"
STYLE = Style(
    background="white", plot_background="white", foreground="#212529", foreground_strong="#212529",
    foreground_subtle="#6c757d", font_family=FONT, label_font_family=FONT, major_label_font_family=FONT,
    value_font_family=FONT, value_label_font_family=FONT, title_font_family=FONT, legend_font_family=FONT,
    tooltip_font_family=FONT, label_font_size=16, major_label_font_size=16, legend_font_size=16, title_font_size=18,
    value_font_size=14, value_label_font_size=14,
    colors=("#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545", "#20c997", "#6c757d"),
)


def _number(value) -> str:
    """An axis or value label without useless decimals: 100, 87.5, 0.25."""
    return "—" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".")


def _config(**extra):
    # Room below for the legend and at the sides for the last label: pygal measures text with
    # Latin widths, and Chinese labels are wider (trial 16: legends and labels were cut off).
    return dict(style=STYLE, js=[], disable_xml_declaration=True, explicit_size=False, width=720, height=380,
                show_legend=True, legend_at_bottom=True, legend_at_bottom_columns=2, print_values=False,
                margin=16, margin_bottom=36, margin_right=40, truncate_label=-1, truncate_legend=-1,
                formatter=_number, **extra)


SCRIPT = re.compile(r"<script.*?</script>", re.S)


def _svg(chart, title: str) -> Markup:
    svg = chart.render(is_unicode=True)
    # pygal's configuration script and tooltip styles are for its (omitted) tooltip script; the
    # page's Content-Security-Policy admits the chart's own <style> by this response's nonce.
    svg = SCRIPT.sub("", svg).replace(' style="opacity: 0"', "")
    nonce = style_nonce()
    if nonce:
        svg = svg.replace("<style", f'<style nonce="{nonce}"', 1)
    # A label for screen readers; the figures are in the table beside each chart.
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(title)}" ', 1))


def trend(title: str, periods: list[str], series: dict[str, list], *, lower: float | None = None,
          upper: float | None = None, unit: str = "") -> Markup:
    """Lines over the half-years, one per series."""
    chart = pygal.Line(**_config(title=title, x_labels=periods, dots_size=4, range=(lower, upper)
                                 if lower is not None and upper is not None else None,
                                 value_formatter=lambda v: f"{_number(v)}{unit}" if v is not None else "—"))
    for name, values in series.items():
        chart.add(name, [float(v) if v is not None else None for v in values])
    return _svg(chart, title)


def bars(title: str, labels: list[str], series: dict[str, list], *, horizontal: bool = False,
         lower: float | None = None, upper: float | None = None, unit: str = "", counts: bool = False) -> Markup:
    """Bars per label (stores side by side, indicator means); ``counts``: whole numbers on the
    value axis (no 0.2 of a store)."""
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    height = max(380, 34 * len(labels) * max(1, len(series)) + 140) if horizontal else 380
    # Chinese store names are about twice as wide as pygal reckons: leave them their room.
    left = 16 + 9 * max((len(str(label)) for label in labels), default=0) if horizontal else 16
    chart = kind(**dict(_config(title=title, x_labels=labels, value_formatter=lambda v: f"{_number(v)}{unit}"
                                if v is not None else "—", range=(lower, upper)
                                if lower is not None and upper is not None else None), height=height,
                        margin_left=left))
    if counts:
        top = max((v or 0 for values in series.values() for v in values), default=0)
        step = max(1, -(-int(top) // 8))
        chart.config.y_labels = list(range(0, int(top) + step + 1, step))
    for name, values in series.items():
        chart.add(name, [float(v) if v is not None else None for v in values])
    return _svg(chart, title)
