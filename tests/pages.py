"""Reading a page's form the way a browser would submit it, for tests that post "what the user saw"."""
import html.parser


class FormReader(html.parser.HTMLParser):
    """The named fields of each <form method=post> on a page; ``values`` is the largest form's
    (the page's own form, not the language or sign-out forms of the navigation). Ticked boxes
    sharing a name become a list."""

    def __init__(self):
        super().__init__()
        self.forms, self._current, self._select, self._textarea = [], None, None, None

    @property
    def values(self) -> dict:
        return max(self.forms, key=len) if self.forms else {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("method", "").lower() == "post":
            self._current = {}
            self.forms.append(self._current)
        if self._current is None:
            return
        values = self._current
        if tag == "input" and a.get("name") and a.get("type") not in ("checkbox", "radio", "submit", "file"):
            values[a["name"]] = a.get("value") or a.get("data-submission") or ""
        elif tag == "input" and a.get("type") == "radio" and "checked" in a:
            values[a["name"]] = a.get("value", "on")
        elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
            name, value = a["name"], a.get("value", "y")
            values[name] = [*values[name], value] if isinstance(values.get(name), list) else (
                [values[name], value] if name in values else value)
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and ("selected" in a or self._select not in values):
            values[self._select] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            values[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea and self._current is not None:
            self._current[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "textarea":
            if self._textarea and self._current is not None:
                self._current[self._textarea] = self._current[self._textarea].removeprefix("\r").removeprefix("\n")
            self._textarea = None
        if tag == "form":
            self._current = None


def form_on(page: str) -> dict:
    """The values the page's own form would post, unchanged."""
    reader = FormReader()
    reader.feed(page)
    return dict(reader.values)


def form_with(page: str, field: str) -> dict:
    """The values of the page's form that has a field named ``field`` (a page with several)."""
    reader = FormReader()
    reader.feed(page)
    return dict(next(form for form in reader.forms if field in form))
