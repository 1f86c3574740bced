"""The one WeasyPrint entry point: HTML rendered by ``render_template`` in, PDF bytes out.

- **Fonts**: the report stylesheet (``static/css/report.css``) names Noto Sans SC through
  ``@font-face`` from ``static/fonts``, shipped with the application, so Chinese prints the same
  on any machine whatever fonts the system has; WeasyPrint embeds the glyphs used as a subset.
- **Speed** (PERFORMANCE.md): the stylesheet and its font configuration are parsed once per
  process and reused; subsetting needs HarfBuzz's subset library (Debian's
  ``libharfbuzz-subset0``, installed by ``scripts/system-deps.sh``), without which WeasyPrint
  falls back to fontTools and a Chinese report takes 17 times as long: ``subsetting_problem``
  says so at start-up and in ``flask reports check``.
- **Safety**: the URL fetcher serves only files under the application's ``static`` folder (and
  ``data:`` images the report builds itself). Anything else, whatever a customer typed into a
  name (``<img src=http://...>`` is escaped by Jinja anyway), raises before any connection is
  made; WeasyPrint then leaves the resource out.
"""
import atexit
import ctypes.util
import mimetypes
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

STATIC = Path(__file__).resolve().parent.parent / "static"
STYLESHEET = STATIC / "css" / "report.css"
_lock = threading.Lock()
_cached: dict = {}


def subsetting_problem() -> str | None:
    """What is missing for fast font subsetting, or None. Cheap: does not import WeasyPrint."""
    if ctypes.util.find_library("harfbuzz-subset") is None:
        return ("HarfBuzz's subset library (Debian: libharfbuzz-subset0) is missing: Chinese PDF reports "
                "will take about 17 times as long (run `make system-deps`).")
    return None


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves the application's static files and inline ``data:`` images, nothing else."""

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if parts.scheme == "data":
                return super().fetch(url, headers)
            if parts.scheme != "file":
                raise ValueError(f"reports load nothing from outside the application: {url[:80]}")
            path = Path(unquote(parts.path)).resolve()
            if not path.is_relative_to(STATIC) or not path.is_file():
                raise ValueError(f"not a static file of the application: {url[:80]}")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if path.suffix == ".ttf":
                kind = "font/ttf"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": kind})

    return StaticOnlyFetcher


def _resources():
    """The fetcher, font configuration and parsed stylesheet: built once per process."""
    with _lock:
        if not _cached:
            from weasyprint import CSS
            from weasyprint.text.fonts import FontConfiguration

            fetcher = _fetcher_class()(allowed_protocols=("file", "data"), timeout=5)
            fonts = FontConfiguration()
            css = CSS(filename=str(STYLESHEET), font_config=fonts, url_fetcher=fetcher)
            _cached.update(fetcher=fetcher, fonts=fonts, css=css)
            # Let the font configuration go while WeasyPrint's modules still exist (its __del__
            # failed noisily when the interpreter tore them down first).
            atexit.register(_cached.clear)
        return _cached["fetcher"], _cached["fonts"], _cached["css"]


def _page_numbers(pattern: str):
    """The footer's "page x of y" in the report's language: ``pattern`` is a translation of
    "Page {page} of {pages}". CSS counters cannot come from the HTML, so each language gets a
    small stylesheet of its own (parsed once)."""
    with _lock:
        if pattern not in _cached:
            from weasyprint import CSS

            parts = []
            for i, piece in enumerate(re.split(r"\{(page|pages)\}", pattern)):
                if i % 2:
                    parts.append(f"counter({piece})")
                elif piece:
                    parts.append('"' + piece.replace("\\", "").replace('"', "'") + '"')
            rule = "@page { @bottom-right { content: %s; } }" % " ".join(parts or ['counter(page)'])
            _cached[pattern] = CSS(string=rule, font_config=_cached["fonts"])
        return _cached[pattern]


def render(html: str, page_numbers: str = "{page} / {pages}") -> tuple[bytes, int]:
    """The PDF of ``html`` (a complete document from a ``reports/pdf/*`` template) and its
    number of pages; ``page_numbers`` is the footer's "page x of y" ("Page {page} of {pages}")."""
    from weasyprint import HTML

    fetcher, fonts, css = _resources()
    document = HTML(string=html, base_url=STATIC.as_uri() + "/", url_fetcher=fetcher).render(
        stylesheets=[css, _page_numbers(page_numbers)], font_config=fonts)
    return document.write_pdf(), len(document.pages)


def warm_up() -> None:
    """Parse the stylesheet and load the fonts before the first report (a worker's start)."""
    render("<html><body><p>预热 warm-up</p></body></html>")
