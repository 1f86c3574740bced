"""Announcements from headquarters to the stores, with read and acknowledgement tracking.

Publishing addresses every open store of the audience (all, a region, chosen stores) with one
``AnnouncementReceipt`` each, written by one INSERT ... SELECT; the announcement keeps how many
stores it reached, read it and acknowledged it (moved with the receipts by the same
statements), so headquarters' list reads stored figures. A store's people read it (the first
reader is recorded) and its owner or manager acknowledges it for their stores in scope; the
tenant scope decides which receipts a user's statements reach, so nobody acknowledges for
another franchisee's stores. Telling people (at publication, and reminders to the stores that
have not acknowledged, when headquarters asks and every few days on their own) is done by the
periodic job, never inside the request.
"""
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, func, insert, literal, or_, select, update

from app.extensions import db
from app.models import Store, User
from app.models.base import local_today, utcnow
from app.models.governance import Announcement, AnnouncementReceipt
from app.models.user import user_store
from app.services import RuleError, audit, notifications

REMIND_EVERY = timedelta(days=3)
REMIND_FOR = timedelta(days=30)
NOTIFIED_ROLES = ("franchise_owner", "store_manager")


def save_draft(announcement: Announcement | None, data: dict, store_ids: list[int], user) -> Announcement:
    if announcement is not None and announcement.status != "draft":
        raise RuleError(_("A published announcement is not changed: withdraw it and publish a corrected one."))
    if data["audience"] == "region" and not data.get("region_id"):
        raise RuleError(_("Choose the region whose stores receive it."))
    if data["audience"] == "stores" and not store_ids:
        raise RuleError(_("Choose at least one store."))
    if data.get("ack_by") and data["ack_by"] < local_today():
        raise RuleError(_("The date to acknowledge by is in the past."))
    if data.get("ack_by") and data["ack_by"] > local_today() + timedelta(days=366):
        raise RuleError(_("The date to acknowledge by is more than a year ahead."))
    if announcement is None:
        announcement = Announcement(created_by_id=user.id)
        db.session.add(announcement)
    announcement.title = data["title"].strip()
    announcement.body = data["body"]
    announcement.audience = data["audience"]
    announcement.region_id = data.get("region_id") if data["audience"] == "region" else None
    announcement.chosen_store_ids = ",".join(str(i) for i in sorted(set(store_ids))) if data["audience"] == "stores" else None
    announcement.needs_ack = bool(data.get("needs_ack"))
    announcement.ack_by = data.get("ack_by") if announcement.needs_ack else None
    db.session.flush()
    return announcement


def _audience(announcement: Announcement):
    stores = select(Store.id, Store.franchisee_id).where(Store.status == "open")
    if announcement.audience == "region":
        stores = stores.where(Store.region_id == announcement.region_id)
    elif announcement.audience == "stores":
        stores = stores.where(Store.id.in_(announcement.chosen_ids))
    return stores


def publish(announcement: Announcement, user) -> int:
    """Send a draft: one receipt per open store addressed. Returns how many stores."""
    if announcement.status != "draft":
        raise RuleError(_("This announcement is already published."))
    if announcement.needs_ack and announcement.ack_by and announcement.ack_by < local_today():
        raise RuleError(_("The date to acknowledge by is in the past."))
    stores = _audience(announcement).subquery()
    result = db.session.execute(
        insert(AnnouncementReceipt).from_select(
            ["announcement_id", "store_id", "franchisee_id"],
            select(literal(announcement.id), stores.c.id, stores.c.franchisee_id)),
        execution_options={"preserve_rowcount": True})
    reached = result.rowcount
    if not reached:
        raise RuleError(_("No open store is addressed: choose the stores again."))
    moved = db.session.execute(update(Announcement).where(
        Announcement.id == announcement.id, Announcement.status == "draft").values(
        status="published", published_at=utcnow(), published_by_id=user.id, stores_count=reached,
        notify_pending=True, version=Announcement.version + 1).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise RuleError(_("Someone else published this announcement meanwhile."))
    db.session.refresh(announcement)
    audit.record("announcement.published", actor=user, target=announcement, details={"rows": reached})
    return reached


def withdraw(announcement: Announcement, user) -> None:
    if announcement.status != "published":
        raise RuleError(_("Only a published announcement is withdrawn."))
    announcement.status = "withdrawn"
    announcement.notify_pending = False
    announcement.remind_requested_at = None
    db.session.flush()
    audit.record("announcement.withdrawn", actor=user, target=announcement)


def _mine(announcement: Announcement):
    """The receipts of ``announcement`` the user's scope reaches (their stores)."""
    return select(AnnouncementReceipt).where(AnnouncementReceipt.announcement_id == announcement.id)


def receipts_in_scope(announcement: Announcement) -> list[AnnouncementReceipt]:
    from sqlalchemy.orm import selectinload

    return db.session.scalars(_mine(announcement).options(
        selectinload(AnnouncementReceipt.store), selectinload(AnnouncementReceipt.read_by),
        selectinload(AnnouncementReceipt.acknowledged_by)).order_by(AnnouncementReceipt.store_id)).all()


def mark_read(announcement: Announcement, user) -> int:
    """The user opened it: their stores' receipts not read yet are read now (by them)."""
    if user.is_hq or announcement.status != "published":
        return 0
    read = db.session.execute(update(AnnouncementReceipt).where(
        AnnouncementReceipt.announcement_id == announcement.id, AnnouncementReceipt.read_at.is_(None)).values(
        read_at=utcnow(), read_by_id=user.id).execution_options(synchronize_session=False)).rowcount
    if read:
        db.session.execute(update(Announcement).where(Announcement.id == announcement.id).values(
            read_count=Announcement.read_count + read).execution_options(synchronize_session=False))
    return read


def acknowledge(announcement: Announcement, user) -> int:
    """The owner (or a store's manager) confirms it for their stores in scope that have not yet.
    Returns how many stores."""
    if announcement.status != "published":
        raise RuleError(_("This announcement was withdrawn: there is nothing to acknowledge."))
    if not announcement.needs_ack:
        raise RuleError(_("This announcement asks for no acknowledgement."))
    now = utcnow()
    newly_read = db.session.execute(update(AnnouncementReceipt).where(
        AnnouncementReceipt.announcement_id == announcement.id, AnnouncementReceipt.read_at.is_(None)).values(
        read_at=now, read_by_id=user.id).execution_options(synchronize_session=False)).rowcount
    done = db.session.execute(update(AnnouncementReceipt).where(
        AnnouncementReceipt.announcement_id == announcement.id, AnnouncementReceipt.acknowledged_at.is_(None)).values(
        acknowledged_at=now, acknowledged_by_id=user.id).execution_options(synchronize_session=False)).rowcount
    if not done:
        raise RuleError(_("Your stores have already acknowledged this announcement."))
    db.session.execute(update(Announcement).where(Announcement.id == announcement.id).values(
        read_count=Announcement.read_count + newly_read, ack_count=Announcement.ack_count + done)
        .execution_options(synchronize_session=False))
    audit.record("announcement.acknowledged", actor=user, target=announcement, details={"rows": done})
    return done


def request_reminder(announcement: Announcement, user) -> int:
    """Headquarters asks for a reminder to the stores that have not acknowledged; the periodic job
    sends it. Returns how many stores will be reminded."""
    if announcement.status != "published" or not announcement.needs_ack:
        raise RuleError(_("Only a published announcement that asks for acknowledgement has reminders."))
    outstanding = announcement.stores_count - announcement.ack_count
    if outstanding <= 0:
        raise RuleError(_("Every store has acknowledged it: nobody to remind."))
    if announcement.remind_requested_at is not None:
        raise RuleError(_("A reminder is already on its way (sent within a few minutes)."))
    announcement.remind_requested_at = utcnow()
    db.session.flush()
    audit.record("announcement.reminder_requested", actor=user, target=announcement)
    return outstanding


def for_reader(limit: int = 5) -> list:
    """The user's stores' published announcements still waiting for them (not acknowledged, or
    not read when no acknowledgement is asked): the dashboard's list."""
    r = AnnouncementReceipt
    stmt = (select(Announcement, func.count(r.id)).join(r, r.announcement_id == Announcement.id)
            .where(Announcement.status == "published",
                   or_(and_(Announcement.needs_ack.is_(True), r.acknowledged_at.is_(None)),
                       and_(Announcement.needs_ack.is_(False), r.read_at.is_(None))))
            .group_by(Announcement.id).order_by(Announcement.published_at.desc()).limit(limit))
    return db.session.execute(stmt).all()


# --- the periodic job -------------------------------------------------------------------------

def _people(announcement: Announcement, only_outstanding: bool) -> list[User]:
    """The owners and store managers of the stores addressed (those not acknowledged, for a reminder)."""
    receipts = select(AnnouncementReceipt.store_id, AnnouncementReceipt.franchisee_id).where(
        AnnouncementReceipt.announcement_id == announcement.id)
    if only_outstanding:
        receipts = receipts.where(AnnouncementReceipt.acknowledged_at.is_(None))
    receipts = receipts.subquery()
    owners = select(User).join(Store, Store.franchisee_id == User.franchisee_id).where(
        User.role == "franchise_owner", Store.id.in_(select(receipts.c.store_id)))
    managers = select(User).join(user_store, user_store.c.user_id == User.id).where(
        User.role == "store_manager", user_store.c.store_id.in_(select(receipts.c.store_id)))
    seen: dict[int, User] = {}
    for stmt in (owners, managers):
        for person in db.session.scalars(stmt.where(User.active.is_(True))).unique():
            seen.setdefault(person.id, person)
    return list(seen.values())


def _data(announcement: Announcement) -> dict:
    return {"title": announcement.title, "ack_by": announcement.ack_by.isoformat() if announcement.ack_by else None}


def _link(announcement: Announcement) -> str:
    return f"/governance/announcements/{announcement.id}"


def tick(now=None) -> dict:
    """Tell the stores' people of new announcements, and remind those who have not acknowledged
    (when headquarters asked, and every ``REMIND_EVERY`` for ``REMIND_FOR`` after publication).
    Runs unscoped, in the periodic job; commits after each announcement."""
    now = now or utcnow()
    told = reminded = 0
    for announcement in db.session.scalars(select(Announcement).where(
            Announcement.status == "published", Announcement.notify_pending.is_(True))).all():
        told += notifications.notify(_people(announcement, False), "announcement_published", _data(announcement),
                                     url=_link(announcement))
        announcement.notify_pending = False
        announcement.last_reminded_at = announcement.last_reminded_at or now
        db.session.commit()
    due = select(Announcement).where(
        Announcement.status == "published", Announcement.needs_ack.is_(True),
        Announcement.ack_count < Announcement.stores_count,
        or_(Announcement.remind_requested_at.is_not(None),
            and_(Announcement.published_at > now - REMIND_FOR, Announcement.last_reminded_at < now - REMIND_EVERY)))
    for announcement in db.session.scalars(due).all():
        reminded += notifications.notify(_people(announcement, True), "announcement_reminder", _data(announcement),
                                         url=_link(announcement))
        db.session.execute(update(AnnouncementReceipt).where(
            AnnouncementReceipt.announcement_id == announcement.id, AnnouncementReceipt.acknowledged_at.is_(None))
            .values(reminders=AnnouncementReceipt.reminders + 1).execution_options(synchronize_session=False))
        announcement.remind_requested_at = None
        announcement.last_reminded_at = now
        db.session.commit()
    return {"announcements_told": told, "announcements_reminded": reminded}


@notifications.message("announcement_published")
def _published_message(data):
    title = _("Announcement from headquarters: %(title)s", title=data["title"])
    if data.get("ack_by"):
        return title, _("Please read it and acknowledge it by %(day)s.", day=date.fromisoformat(data["ack_by"]))
    return title, _("Please read it in the portal.")


@notifications.message("announcement_reminder")
def _reminder_message(data):
    title = _("Reminder: acknowledge \"%(title)s\"", title=data["title"])
    if data.get("ack_by"):
        return title, _("Your store has not acknowledged this announcement yet; please do so by %(day)s.",
                        day=date.fromisoformat(data["ack_by"]))
    return title, _("Your store has not acknowledged this announcement yet.")
