"""Announcements from headquarters to the stores, read and acknowledged per store."""
import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload

from app.blueprints.common import commit_or_explain, create_once, keyset_of, list_text, save_versioned
from app.blueprints.governance import bp
from app.blueprints.governance.forms import AnnouncementForm, NewAnnouncementForm
from app.database import write_transaction
from app.extensions import db
from app.forms import EmptyForm
from app.models import Region, Store
from app.models.governance import Announcement, AnnouncementReceipt
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.scope import current_scope
from app.services.governance import announcements, documents

LATEST = Ordering((Announcement.id,), descending=True)
RECEIPTS = Ordering((AnnouncementReceipt.id,))
CODES = re.compile(r"[\s,，;；、]+")


def _visible(announcement_id: int) -> Announcement:
    """Headquarters' network scope sees every announcement; anyone else one addressed to a store
    of theirs (through a receipt their scope reaches), published; otherwise 404."""
    announcement = db.get_or_404(Announcement, announcement_id)
    if current_scope.is_network:
        return announcement
    if announcement.status == "draft" or db.session.scalar(select(AnnouncementReceipt.id).where(
            AnnouncementReceipt.announcement_id == announcement.id).limit(1)) is None:
        abort(404)
    return announcement


@bp.route("/announcements")
@access("governance.announcements")
def announcements_index():
    """Headquarters: every announcement with its figures. The stores: theirs, those waiting for
    them first (tab ``?show=waiting``)."""
    show = request.args.get("show", "")
    stmt = select(Announcement)
    if not current_scope.is_network:
        mine = select(AnnouncementReceipt.id).where(AnnouncementReceipt.announcement_id == Announcement.id)
        if show == "waiting":
            mine = mine.where(AnnouncementReceipt.acknowledged_at.is_(None))
            stmt = stmt.where(Announcement.needs_ack.is_(True))
        stmt = stmt.where(Announcement.status == "published", exists(mine))
    elif show in ("draft", "published", "withdrawn"):
        stmt = stmt.where(Announcement.status == show)
    page = keyset_of(stmt.options(selectinload(Announcement.region)), LATEST)
    ids = [a.id for a in page.items]
    mine = {}
    if ids and not current_scope.is_network:
        r = AnnouncementReceipt
        mine = {row[0]: row[1:] for row in db.session.execute(
            select(r.announcement_id, func.count(r.id), func.count(r.read_at), func.count(r.acknowledged_at))
            .where(r.announcement_id.in_(ids)).group_by(r.announcement_id)).all()}
    return render_template("governance/announcements.html", page=page, show=show, mine=mine)


def _regions():
    return db.session.scalars(select(Region).order_by(Region.name)).all()


def _store_ids(form) -> list[int] | None:
    """The chosen stores' ids from the codes typed; None (and the field marked) when a code is unknown."""
    if form.audience.data != "stores":
        return []
    codes = [c.upper() for c in CODES.split(form.store_codes.data or "") if c]
    if not codes:
        form.store_codes.errors = [*form.store_codes.errors, _("Type the codes of the stores to receive it.")]
        return None
    found = dict(db.session.execute(select(Store.code, Store.id).where(Store.code.in_(codes))).all())
    unknown = [c for c in codes if c not in found]
    if unknown:
        form.store_codes.errors = [*form.store_codes.errors, _("No store has the code %(codes)s.",
                                                               codes=list_text(unknown[:10]))]
        return None
    return list(found.values())


@bp.route("/announcements/new", methods=["GET", "POST"])
@access("governance.announce")
def new_announcement():
    form = NewAnnouncementForm(version=1, regions=_regions())
    if form.validate_on_submit() and (ids := _store_ids(form)) is not None and (done := create_once(
            form, lambda: announcements.save_draft(None, form.data, ids, current_user),
            lambda a: url_for("governance.announcement", announcement_id=a.id),
            _("Draft saved. Check it, then publish it."))):
        return done
    return render_template("governance/announcement_form.html", form=form, announcement=None), \
        422 if form.is_submitted() else 200


@bp.route("/announcements/<int:announcement_id>/edit", methods=["GET", "POST"])
@access("governance.announce")
def edit_announcement(announcement_id: int):
    announcement = db.get_or_404(Announcement, announcement_id)
    if announcement.status != "draft":
        flash(_("A withdrawn announcement is not changed: write a new one.") if announcement.status == "withdrawn"
              else _("A published announcement is not changed: withdraw it and publish a corrected one."), "warning")
        return redirect(url_for("governance.announcement", announcement_id=announcement.id))
    form = AnnouncementForm(obj=announcement, regions=_regions())
    if request.method == "GET":
        codes = db.session.scalars(select(Store.code).where(Store.id.in_(announcement.chosen_ids))).all()
        form.store_codes.data = " ".join(codes)
    if form.validate_on_submit() and (ids := _store_ids(form)) is not None and save_versioned(
            form, announcement, lambda: announcements.save_draft(announcement, form.data, ids, current_user)):
        flash(_("Draft saved."), "success")
        return redirect(url_for("governance.announcement", announcement_id=announcement.id))
    return render_template("governance/announcement_form.html", form=form, announcement=announcement), \
        422 if form.is_submitted() else 200


@bp.route("/announcements/<int:announcement_id>")
@access("governance.announcements")
def announcement(announcement_id: int):
    """The announcement; for headquarters, which stores read and acknowledged it (``?waiting=1``:
    only those that have not); for a store's people, their stores' receipts (opening it reads it)."""
    announcement = _visible(announcement_id)
    mine = [] if current_user.is_hq else announcements.receipts_in_scope(announcement)
    if announcement.status == "published" and any(r.read_at is None for r in mine):
        # Opening it reads it: written only when something is unread, in a short transaction that
        # starts with the write lock (the bench's 8 readers of one page hit "database is locked"
        # when every view of it ran an UPDATE after reading).
        with write_transaction(db.session):
            announcements.mark_read(db.session.get(Announcement, announcement.id), current_user)
        mine = announcements.receipts_in_scope(announcement)
    receipts = None
    waiting = request.args.get("waiting") == "1"
    if current_user.is_hq and announcement.status != "draft":
        stmt = select(AnnouncementReceipt).where(AnnouncementReceipt.announcement_id == announcement.id)
        if waiting:
            stmt = stmt.where(AnnouncementReceipt.acknowledged_at.is_(None))
        receipts = keyset_of(stmt.options(selectinload(AnnouncementReceipt.store), selectinload(
            AnnouncementReceipt.read_by), selectinload(AnnouncementReceipt.acknowledged_by)), RECEIPTS)
    outstanding = [r for r in mine if r.acknowledged_at is None]
    region = announcement.region
    chosen = db.session.scalars(select(Store).where(Store.id.in_(announcement.chosen_ids)).order_by(Store.code)).all() \
        if announcement.status == "draft" and announcement.audience == "stores" else []
    return render_template("governance/announcement.html", announcement=announcement,
                           blocks=documents.blocks(announcement.body), receipts=receipts, waiting=waiting,
                           mine=mine, outstanding=outstanding, region=region, chosen=chosen,
                           may_ack=can(current_user, "governance.acknowledge") and announcement.needs_ack
                           and announcement.status == "published" and bool(outstanding))


@bp.route("/announcements/<int:announcement_id>/publish", methods=["POST"])
@access("governance.announce")
def publish_announcement(announcement_id: int):
    announcement = db.get_or_404(Announcement, announcement_id)
    if EmptyForm().validate_on_submit():
        commit_or_explain(lambda: announcements.publish(announcement, current_user),
                          lambda n: ngettext("Published to %(num)d store. Its owner and managers are told within a few minutes.",
                                               "Published to %(num)d stores. Their owners and managers are told within "
                                               "a few minutes.", n))
    return redirect(url_for("governance.announcement", announcement_id=announcement.id))


@bp.route("/announcements/<int:announcement_id>/withdraw", methods=["POST"])
@access("governance.announce")
def withdraw_announcement(announcement_id: int):
    announcement = db.get_or_404(Announcement, announcement_id)
    if EmptyForm().validate_on_submit():
        commit_or_explain(lambda: announcements.withdraw(announcement, current_user), _("Announcement withdrawn."))
    return redirect(url_for("governance.announcement", announcement_id=announcement.id))


@bp.route("/announcements/<int:announcement_id>/remind", methods=["POST"])
@access("governance.announce")
def remind_announcement(announcement_id: int):
    announcement = db.get_or_404(Announcement, announcement_id)
    if EmptyForm().validate_on_submit():
        commit_or_explain(lambda: announcements.request_reminder(announcement, current_user),
                          lambda n: ngettext("A reminder goes to the %(num)d store that has not acknowledged, within a few minutes.",
                                               "A reminder goes to the %(num)d stores that have not acknowledged, "
                                               "within a few minutes.", n))
    return redirect(url_for("governance.announcement", announcement_id=announcement.id))


@bp.route("/announcements/<int:announcement_id>/acknowledge", methods=["POST"])
@access("governance.acknowledge")
def acknowledge_announcement(announcement_id: int):
    announcement = _visible(announcement_id)
    if EmptyForm().validate_on_submit():
        commit_or_explain(lambda: announcements.acknowledge(announcement, current_user),
                          lambda n: ngettext("Acknowledged for %(num)d of your stores.",
                                               "Acknowledged for %(num)d of your stores.", n))
    return redirect(url_for("governance.announcement", announcement_id=announcement.id))
