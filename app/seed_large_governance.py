"""The large network's announcements (issue 15): one to every open store (1,008 receipts for the
default network), read by about seven stores in ten and acknowledged by half, and one to a
region; published through the service (one INSERT ... SELECT each), the reading and
acknowledging set in bulk with the stored figures to match. The manual copies stay the demo's:
the large network has no accounts of its own to hold them."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Region, User
from app.models.base import local_today, utcnow
from app.models.governance import Announcement, AnnouncementReceipt
from app.security.tenancy import unscoped
from app.services.governance import announcements

TITLE = "关于全网门店服务规范更新的通知"


def load(seed: int, progress, end_transaction) -> int:
    """The two announcements unless made before; returns how many receipts were made."""
    with unscoped():
        if db.session.scalar(select(Announcement.id).where(Announcement.title == TITLE)) is not None:
            return 0
        rng = random.Random(seed + 15)
        author = db.session.scalar(select(User).where(User.username == "hq-auditor"))
        if author is None:
            return 0
        every = announcements.save_draft(None, {
            "title": TITLE, "audience": "all", "needs_ack": True, "ack_by": local_today() + timedelta(days=14),
            "body": "各加盟门店：\n\n服务规范第 3 版已发布，请组织全体员工学习，并在门户中确认。"}, [], author)
        reached = announcements.publish(every, author)
        region = db.session.scalar(select(Region).order_by(Region.id))
        if region is not None:
            regional = announcements.save_draft(None, {
                "title": f"{region.name}季度稽核安排", "audience": "region", "region_id": region.id,
                "needs_ack": False, "body": "本季度神秘顾客稽核将覆盖本区域全部门店。"}, [], author)
            reached += announcements.publish(regional, author)
        ids = db.session.scalars(select(AnnouncementReceipt.id).where(
            AnnouncementReceipt.announcement_id == every.id).order_by(AnnouncementReceipt.id)).all()
        now = utcnow()
        read = [i for i in ids if rng.random() < 0.7]
        acked = [i for i in read if rng.random() < 0.7]
        for chunk in range(0, len(read), 500):
            db.session.execute(update(AnnouncementReceipt).where(AnnouncementReceipt.id.in_(read[chunk:chunk + 500]))
                               .values(read_at=now).execution_options(synchronize_session=False))
        for chunk in range(0, len(acked), 500):
            db.session.execute(update(AnnouncementReceipt).where(AnnouncementReceipt.id.in_(acked[chunk:chunk + 500]))
                               .values(acknowledged_at=now).execution_options(synchronize_session=False))
        counts = db.session.execute(select(func.count(AnnouncementReceipt.read_at), func.count(
            AnnouncementReceipt.acknowledged_at)).where(AnnouncementReceipt.announcement_id == every.id)).one()
        db.session.execute(update(Announcement).where(Announcement.id == every.id).values(
            read_count=counts[0], ack_count=counts[1], notify_pending=False).execution_options(
            synchronize_session=False))
        end_transaction()
        progress(f"announcements: {reached:,} stores addressed")
        return reached
