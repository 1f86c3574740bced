"""Fast translation lookups for templates.

Flask-Babel finds the request's translations anew on every ``gettext`` call (context lookups,
domain, cache): about 11 µs, and a Jinja ``_()`` on top of it ≈ 22 µs. A list page calls it a
hundred times or more, so that alone was 2 ms a page. Here the translations are looked up once
per request and kept in a context variable; templates read them from there (≈ 0.2 µs).

Outside a request (command-line jobs, background imports) nothing is kept and every lookup
goes to Flask-Babel, so ``force_locale`` works as documented there. Inside a request, use this
module's ``force_locale`` so templates follow the forced locale too.
"""
from contextlib import contextmanager
from contextvars import ContextVar

import flask_babel
from markupsafe import Markup
from flask_babel import get_locale, get_translations

_request_translations: ContextVar = ContextVar("portal_translations", default=None)
_request_locale: ContextVar = ContextVar("portal_locale", default=None)


def current_translations():
    return _request_translations.get() or get_translations()


def current_locale() -> str:
    """The locale in force as a string ("zh_Hans", "en")."""
    return _request_locale.get() or str(get_locale())


def gettext(string: str) -> str:
    return current_translations().ugettext(string)


def ngettext(singular: str, plural: str, n: int) -> str:
    return current_translations().ungettext(singular, plural, n)


def pgettext(context: str, string: str) -> str:
    return current_translations().upgettext(context, string)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return current_translations().unpgettext(context, singular, plural, n)


_translated_maps: dict = {}


def translated(mapping: dict) -> dict:
    """A module-level ``{key: lazy label}`` constant with its labels translated into the locale in
    force, built once per locale: a lazy label costs ≈ 10 µs each time a template prints it."""
    key = (id(mapping), current_locale())
    found = _translated_maps.get(key)
    if found is None:
        found = _translated_maps[key] = {k: str(v) for k, v in mapping.items()}
    return found


@contextmanager
def force_locale(locale: str):
    """Flask-Babel's ``force_locale``, followed by the templates' fast lookups as well."""
    with flask_babel.force_locale(locale):
        token = _request_translations.set(None)
        locale_token = _request_locale.set(None)
        try:
            yield
        finally:
            _request_translations.reset(token)
            _request_locale.reset(locale_token)


# What templates call. Jinja's own newstyle wrappers take the template context
# (``pass_context``), and Jinja answers such a call made inside a ``{% for %}`` loop by copying
# the whole context first: ≈ 25 µs per ``_()`` in a table row, most of a list page's rendering.
# These plain functions do what those wrappers do for our autoescaped templates, with no
# context: translate, escape, then apply ``%(name)s`` formatting (always, so ``%%`` is ``%``).
def template_gettext(string: str, **variables) -> Markup:
    return Markup(current_translations().ugettext(string)) % variables


def template_ngettext(singular: str, plural: str, num: int, **variables) -> Markup:
    variables.setdefault("num", num)
    return Markup(current_translations().ungettext(singular, plural, num)) % variables


def template_pgettext(context: str, string: str, **variables) -> Markup:
    return Markup(current_translations().upgettext(context, string)) % variables


def template_npgettext(context: str, singular: str, plural: str, num: int, **variables) -> Markup:
    variables.setdefault("num", num)
    return Markup(current_translations().unpgettext(context, singular, plural, num)) % variables


def init_app(app) -> None:
    # The i18n extension (for {% trans %}) with newstyle semantics, then our context-free
    # callables in place of its wrappers (see template_gettext).
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True, pgettext=pgettext,
                                            npgettext=npgettext)
    app.jinja_env.globals.update(
        _=template_gettext, gettext=template_gettext, ngettext=template_ngettext,
        pgettext=template_pgettext, npgettext=template_npgettext,
    )

    @app.before_request
    def keep_translations():
        # Runs after the scope hook, so the signed-in user's language is known.
        _request_translations.set(get_translations())
        _request_locale.set(str(get_locale()))

    @app.teardown_request
    def forget_translations(exc=None):
        _request_translations.set(None)
        _request_locale.set(None)


class Message:
    """Text translated when it is shown, not when it is made: a message a background job
    stores (an import's problems, why it failed) is read later, by people who may read
    another language than the uploader (issue 8). ``str()`` gives it in the language in force;
    ``data`` is what is stored (the English text as message id, and its values); ``text(data)``
    turns stored data back into words, and passes plain strings through (older rows).

    Extracted for translation like ``_l`` (``-k _m`` in the Makefile).
    """

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, **params):
        self.msgid, self.params = msgid, params

    def __str__(self) -> str:
        text = current_translations().ugettext(self.msgid)
        return text % self.params if self.params else text

    def __repr__(self) -> str:
        return f"Message({self.msgid!r})"

    @property
    def data(self) -> list:
        return [self.msgid, self.params]

    @staticmethod
    def text(data) -> str:
        if isinstance(data, list) and len(data) == 2 and isinstance(data[0], str):
            return str(Message(data[0], **(data[1] or {})))
        if isinstance(data, str) and data.startswith('["'):
            import json

            try:
                return Message.text(json.loads(data))
            except ValueError:
                return data
        return "" if data is None else str(data)


def _m(msgid: str, **params) -> Message:
    return Message(msgid, **params)


def stored(message) -> list | str:
    """What to store of a message: a ``Message``'s data, or the text itself."""
    return message.data if isinstance(message, Message) else str(message)
