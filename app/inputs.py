"""Whole numbers from URLs and query strings stay within what the database can hold.

A 25-digit id in a route or a query parameter reached the database and answered 500 (SQLite:
"Python int too large to convert to SQLite INTEGER"; PostgreSQL's integer columns stop at
2**31 - 1). Here, once for every view: the ``int`` route converter does not match such a number
(404), and ``request.args.get(name, type=int)`` treats one as absent (its default).
"""
from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

# The range of the integer columns (ids, counts) on every database the portal runs on.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def in_range(value: int) -> bool:
    return INT_MIN <= value <= INT_MAX


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that matches only numbers an integer column can hold."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


class BoundedArgs(ImmutableMultiDict):
    """Query and form values whose ``get(..., type=int)`` refuses numbers out of range, and
    whose line breaks are one character, as the browser counted them against a box's
    ``maxlength`` (a form posts CR LF: a note of 1,000 characters with line breaks was refused
    as too long; issue 10, trial 11)."""

    def __init__(self, mapping=None):
        if isinstance(mapping, list):  # what the form parsers give: (name, value) pairs
            mapping = [(k, v.replace("\r\n", "\n") if isinstance(v, str) and "\r" in v else v) for k, v in mapping]
        super().__init__(mapping)

    def get(self, key, default=None, type=None):
        value = super().get(key, default=default, type=type)
        if type is int and isinstance(value, int) and not in_range(value):
            return default
        return value


class PortalRequest(Request):
    parameter_storage_class = BoundedArgs


def install(app) -> None:
    """Before any route is added: the converter is read when a rule is compiled."""
    app.request_class = PortalRequest
    app.url_map.converters["int"] = BoundedIntConverter
