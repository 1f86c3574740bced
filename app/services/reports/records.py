"""Reports of one record: a mystery-shopper visit (稽核报告: section by section, every item with
its result, note and photos, the findings and what was done about them, the score's history)
and a complaint's case file (投诉档案: the whole timeline). The record is read through the
caller's tenant scope, so a franchisee never prints an audit before headquarters publishes it,
nor a complaint of another franchisee; photos are embedded from the application's own files as
small JPEGs (no URL is ever fetched)."""
import base64
import io

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.extensions import db
from app.models import (
    AuditTemplate, Complaint, ComplaintEvent, ComplaintTask, CorrectiveAction, StoreAudit, TemplateSection,
)
from app.models.mystery import ACTION_STATUSES, AUDIT_STATUSES

PHOTO_PIXELS = 520  # the longer side of an embedded photo: sharp at print size, ~40 KB each
PHOTOS_PER_ITEM = 3


def _photo_uri(photo) -> str | None:
    from PIL import Image

    from app.services.complaints.attachments import path_of

    try:
        with Image.open(path_of(photo)) as image:
            image.thumbnail((PHOTO_PIXELS, PHOTO_PIXELS))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "JPEG", quality=72, optimize=True)
    except (OSError, ValueError):
        return None  # a file gone missing: the report says "photo not available"
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def audit_figures(audit_id: int, locale: str) -> dict:
    audit = db.session.scalar(select(StoreAudit).where(StoreAudit.id == audit_id).options(
        joinedload(StoreAudit.store), joinedload(StoreAudit.auditor), selectinload(StoreAudit.answers),
        selectinload(StoreAudit.photos), selectinload(StoreAudit.score_changes)))
    if audit is None or audit.status in ("planned", "cancelled"):
        raise LookupError(audit_id)
    template = db.session.scalar(select(AuditTemplate).where(AuditTemplate.id == audit.template_id).options(
        selectinload(AuditTemplate.sections).selectinload(TemplateSection.items),
        selectinload(AuditTemplate.sections).joinedload(TemplateSection.touchpoint)))
    answers = {a.item_id: a for a in audit.answers}
    photos: dict[int, list] = {}
    for photo in audit.photos:
        if photo.item_id and not photo.action_id and len(photos.get(photo.item_id, [])) < PHOTOS_PER_ITEM:
            photos.setdefault(photo.item_id, []).append(_photo_uri(photo))
    sections = []
    for section in template.sections:
        rows = []
        for item in section.items:
            a = answers.get(item.id)
            rows.append(dict(text=item.text(locale), critical=item.critical, weight=item.weight, scoring=item.scoring,
                             answered=a is not None, na=bool(a and a.not_applicable),
                             value=a.value if a else None, note=a.note if a else None,
                             photos=photos.get(item.id, [])))
        score = (audit.section_scores or {}).get(str(section.id))
        sections.append(dict(name=section.touchpoint.label(locale), score=score, items=rows))
    item_names = {item.id: item.text(locale) for item in template.items}
    actions = [dict(item=item_names.get(x.item_id, ""), finding=x.finding, due_on=x.due_on,
                    status=str(ACTION_STATUSES.get(x.status, x.status)), root_cause=x.root_cause,
                    preventive=x.preventive_action, response=x.response, responded_at=x.responded_at,
                    verified_at=x.verified_at, verification=x.verification_note)
               for x in db.session.scalars(select(CorrectiveAction).where(CorrectiveAction.audit_id == audit.id)
                                           .order_by(CorrectiveAction.id))]
    return dict(audit=audit, store=audit.store, status=str(AUDIT_STATUSES.get(audit.status, audit.status)),
                sections=sections, actions=actions,
                changes=sorted(audit.score_changes, key=lambda c: c.id))


def complaint_figures(complaint_id: int, locale: str) -> dict:
    complaint = db.session.scalar(select(Complaint).where(Complaint.id == complaint_id).options(
        joinedload(Complaint.store), joinedload(Complaint.category), joinedload(Complaint.channel),
        joinedload(Complaint.handler)))
    if complaint is None:
        raise LookupError(complaint_id)
    events = db.session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
                                .options(joinedload(ComplaintEvent.actor))
                                .order_by(ComplaintEvent.at, ComplaintEvent.id)).all()
    tasks = db.session.scalars(select(ComplaintTask).where(ComplaintTask.complaint_id == complaint.id)
                               .order_by(ComplaintTask.due_on, ComplaintTask.id)).all()
    return dict(c=complaint, store=complaint.store, events=events, tasks=tasks,
                category=complaint.category.label(locale) if complaint.category else None,
                channel=complaint.channel.label(locale) if complaint.channel else None)
