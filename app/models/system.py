"""Bookkeeping the portal keeps for itself."""
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import utcnow


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


class FormReceipt(db.Model):
    """A create form that was saved: its one-time token, who sent it and where its record is.

    A create form carries a fresh token (app/forms.py ``OnceForm``); posting the same token
    again (Back then Save, a double click, a retried request) finds this row and takes the
    user to the record the first post created instead of creating a second one. The token is
    the primary key, so of two simultaneous posts only one can commit. Rows older than
    ``FORM_RECEIPT_DAYS`` are deleted by the nightly job.
    """

    __tablename__ = "form_receipt"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
