"""Bookkeeping the portal keeps for itself."""
from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class CacheStamp(db.Model):
    """The current token of one family of cached data (see app/refcache.py).

    Any change to the data sets a new random token in the same transaction; every worker on
    every host reads the token with the user's session and drops what it cached under another.
    A random token rather than a counter: a rolled-back change must never hand out a token
    that a later change will reuse.
    """

    __tablename__ = "cache_stamp"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger)
