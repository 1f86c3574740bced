"""A store audit from plan to close (issue 10; R31-R33).

planned -> in_progress (the visit starts; answers save as drafts) -> submitted (every item
answered; the score is fixed and each item below standard becomes a corrective action) ->
published (headquarters releases it to the franchisee, who answers the actions) -> closed
(every action accepted by an auditor, or withdrawn on appeal). Functions flush, never commit.
"""
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditAnswer, AuditPhoto, AuditScoreChange, AuditTemplate, CorrectiveAction, Store, StoreAudit, TemplateItem, User,
)
from app.models.base import local_date, local_today, utcnow
from app.models.mystery import OPEN_ACTION_STATUSES, TO_CORRECT_STATUSES
from app.security.tenancy import unscoped
from app.services import RuleError
from app.services.audits import scoring, stats

ACTION_DAYS = 14  # a corrective action is due this many days after the audit is published
RECHECK_DAYS = 30
RECHECK_MAX_DAYS = 120  # a re-check checks a correction: months later it would check nothing
RETURN_DAYS = 7  # a sent-back correction is due at least this many days after the send-back  # a re-check visit is due this many days after a low score is published
CONDUCTORS = ("hq_admin", "hq_auditor", "hq_supervisor", "mystery_shopper")


class AuditError(RuleError):
    pass


def _text(item) -> str:
    """An item's standard in the reader's language (messages name it)."""
    from app.i18n import current_locale

    return item.text(current_locale())


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_end(year: int, quarter: int) -> date:
    first_of_next = date(year + (quarter == 4), 1 if quarter == 4 else quarter * 3 + 1, 1)
    return first_of_next - timedelta(days=1)


def _reference(day: date) -> str:
    with unscoped():
        for _ in range(20):
            reference = f"JC{day:%y%m}{secrets.randbelow(100000):05d}"
            if not db.session.scalar(select(StoreAudit.id).where(StoreAudit.reference == reference)):
                return reference
    raise AuditError(str(_l("No free reference number; please try again.")))


def _check_auditor(auditor: User | None) -> None:
    if auditor is not None and (auditor.role not in CONDUCTORS or not auditor.active):
        raise AuditError(str(_l("%(name)s cannot conduct audits.", name=auditor.display_name)))


def plan(store: Store, template: AuditTemplate, year: int, quarter: int, actor: User, *,
         auditor: User | None = None, due_on: date | None = None, recheck_of: StoreAudit | None = None) -> StoreAudit:
    """Plan one visit of ``store`` in a quarter (R31)."""
    if template.status != "active":
        raise AuditError(str(_l("Only a template in use can be planned with.")))
    if store.status != "open":
        raise AuditError(str(_l("%(store)s is closed.", store=store.name)))
    if not 1 <= quarter <= 4:
        raise AuditError(str(_l("Choose a quarter from 1 to 4.")))
    _check_auditor(auditor)
    end = quarter_end(year, quarter)
    due_on = due_on or end
    if due_on < local_today() and recheck_of is None:
        raise AuditError(str(_l("The visit cannot be due in the past.")))
    audit = StoreAudit(reference=_reference(local_today()), store_id=store.id, franchisee_id=store.franchisee_id,
                       template_id=template.id, year=year, quarter=quarter, due_on=due_on,
                       auditor_id=auditor.id if auditor else None, planned_by_id=actor.id,
                       recheck_of_id=recheck_of.id if recheck_of else None)
    db.session.add(audit)
    db.session.flush()
    return audit


def plan_quarter(stores, template: AuditTemplate, year: int, quarter: int, actor: User,
                 auditors: list[User], due_on: date | None = None) -> list[StoreAudit]:
    """Plan the quarter's audit of every store given that has none yet in that quarter; the
    auditors take the stores in turn. Returns the audits planned (stores already planned are skipped)."""
    store_ids = [s.id for s in stores]
    with unscoped():
        planned = set(db.session.scalars(select(StoreAudit.store_id).where(
            StoreAudit.store_id.in_(store_ids), StoreAudit.year == year, StoreAudit.quarter == quarter,
            StoreAudit.status != "cancelled", StoreAudit.recheck_of_id.is_(None))))
    made = []
    for store in stores:
        if store.id in planned:
            continue
        auditor = auditors[len(made) % len(auditors)] if auditors else None
        made.append(plan(store, template, year, quarter, actor, auditor=auditor, due_on=due_on))
    return made


def _require(audit: StoreAudit, *statuses: str) -> None:
    if audit.status not in statuses:
        raise AuditError(str(_l("This step is not possible while the audit is \u201c%(status)s\u201d.",
                                status=_status_label(audit.status))))


def _status_label(status: str) -> str:
    from app.models.mystery import AUDIT_STATUSES

    return str(AUDIT_STATUSES.get(status, status))


def _require_conductor(audit: StoreAudit, actor: User) -> None:
    if audit.auditor_id != actor.id:
        raise AuditError(str(_l("Only the auditor assigned to this audit can conduct it.")))


def start(audit: StoreAudit, actor: User, now: datetime | None = None) -> None:
    """The visit begins: the start time is recorded and answers can be saved."""
    _require(audit, "planned")
    _require_conductor(audit, actor)
    now = now or utcnow()
    audit.status = "in_progress"
    audit.started_at = now
    audit.visited_on = local_date(now)
    # The audit keeps the franchisee that owns the store at the visit.
    with unscoped():
        audit.franchisee_id = db.session.scalar(select(Store.franchisee_id).where(Store.id == audit.store_id))


def answers_of(audit: StoreAudit) -> dict[int, AuditAnswer]:
    return {a.item_id: a for a in audit.answers}


def save_answers(audit: StoreAudit, actor: User, values: dict[int, dict], *, scenario=None, summary=None,
                 visited_on: date | None = None, started_at=None, ended_at=None) -> None:
    """Save a draft: ``values`` maps item id to {"value", "na", "note"} (only the items given
    change). Values outside the item's scale are refused; the stored score follows."""
    _require(audit, "in_progress")
    _require_conductor(audit, actor)
    items = {item.id: item for item in audit.template.items}
    existing = answers_of(audit)
    for item_id, given in values.items():
        item = items.get(item_id)
        if item is None:
            continue  # an item of another template version: ignored, never stored
        value, na, note = given.get("value"), bool(given.get("na")), (given.get("note") or "").strip() or None
        if na and not item.allow_na:
            raise AuditError(str(_l("\u201c%(item)s\u201d cannot be marked not applicable.", item=_text(item))))
        if value is not None and not na:
            top = 1 if item.scoring == "yes_no" else 5
            if not (isinstance(value, int) and 0 <= value <= top):
                raise AuditError(str(_l("\u201c%(item)s\u201d is scored from 0 to %(top)d.", item=_text(item), top=top)))
        answer = existing.get(item_id)
        if answer is None:
            if value is None and not na and not note:
                continue
            answer = AuditAnswer(audit=audit, audit_id=audit.id, item_id=item_id, store_id=audit.store_id,
                                 franchisee_id=audit.franchisee_id)
            audit.answers.append(answer)
        answer.value = None if na else value
        answer.not_applicable = na
        answer.note = note
    if scenario is not None:
        audit.scenario = scenario.strip() or None
    if summary is not None:
        audit.summary = summary.strip() or None
    if visited_on is not None:
        audit.visited_on = visited_on
    if started_at is not None:
        audit.started_at = started_at
    if ended_at is not None:
        audit.ended_at = ended_at
    _store_score(audit)


def _answers_for_scoring(audit: StoreAudit) -> dict[int, scoring.Answer]:
    return {a.item_id: scoring.Answer(a.value, a.not_applicable) for a in audit.answers}


def _store_score(audit: StoreAudit) -> scoring.Result:
    result = scoring.score(audit.template, _answers_for_scoring(audit))
    audit.score, audit.raw_score = result.score, result.raw_score
    audit.section_scores = {str(k): (str(v) if v is not None else None) for k, v in result.sections.items()}
    audit.critical_failures = result.critical_failures
    audit.answered = result.answered
    return result


def missing_to_submit(audit: StoreAudit) -> list[str]:
    """What the auditor still has to fill in: every item answered; a failed item with a note
    and, where the template asks, a photo."""
    answers = answers_of(audit)
    with_photo = {p.item_id for p in audit.photos if p.item_id}
    missing = []
    for item in audit.template.items:
        answer = answers.get(item.id)
        if answer is None or (answer.value is None and not answer.not_applicable):
            missing.append(str(_l("an answer to \u201c%(item)s\u201d", item=_text(item))))
        elif scoring.below_standard(item, scoring.Answer(answer.value, answer.not_applicable), audit.template.scale_pass):
            if not answer.note:
                missing.append(str(_l("a note on what fell short at \u201c%(item)s\u201d", item=_text(item))))
            if item.photo_on_fail and item.id not in with_photo:
                missing.append(str(_l("a photo of \u201c%(item)s\u201d", item=_text(item))))
    if not audit.scenario:
        missing.append(str(_l("the scenario of the visit")))
    return missing


def submit(audit: StoreAudit, actor: User, now: datetime | None = None) -> None:
    """Hand the audit in: the score is fixed, the end time recorded, each item below standard
    becomes a corrective action (R33). The franchisee sees none of it until publication."""
    _require(audit, "in_progress")
    _require_conductor(audit, actor)
    missing = missing_to_submit(audit)
    if missing:
        shown = missing[:5] + ([str(_l("and %(n)d more", n=len(missing) - 5))] if len(missing) > 5 else [])
        raise AuditError(str(_l("Not submitted yet: %(missing)s.", missing=str(_l("; ")).join(shown))))
    now = now or utcnow()
    audit.ended_at = audit.ended_at or now
    if audit.started_at and audit.ended_at <= audit.started_at:
        raise AuditError(str(_l("The visit must end after it starts.")))
    result = _store_score(audit)
    minutes = audit.minutes
    audit.short_visit = minutes is not None and minutes < audit.template.min_minutes
    audit.status = "submitted"
    audit.submitted_at = now
    answers = answers_of(audit)
    items = {item.id: item for item in audit.template.items}
    for item_id in result.below_standard:
        db.session.add(CorrectiveAction(
            audit=audit, audit_id=audit.id, item_id=item_id, store_id=audit.store_id,
            franchisee_id=audit.franchisee_id, finding=answers[item_id].note or items[item_id].text_zh,
            due_on=local_date(now) + timedelta(days=ACTION_DAYS)))
    audit.findings = len(result.below_standard)
    audit.open_actions = audit.findings
    db.session.add(AuditScoreChange(audit=audit, audit_id=audit.id, store_id=audit.store_id,
                                    franchisee_id=audit.franchisee_id, by_id=actor.id, old_score=None,
                                    new_score=audit.score, reason="submitted", at=now))
    db.session.flush()
    from app.services.audits import alerts

    alerts.submitted(audit)


def publish(audit: StoreAudit, actor: User, now: datetime | None = None) -> StoreAudit | None:
    """Release the audit to the franchisee; the actions fall due ``ACTION_DAYS`` from today.
    A score below the template's re-check mark plans a re-check visit, returned."""
    _require(audit, "submitted")
    now = now or utcnow()
    audit.status = "published" if audit.open_actions else "closed"
    audit.published_at = now
    audit.published_by_id = actor.id
    if audit.status == "closed":
        audit.closed_at = now
    for action in audit.actions:
        action.due_on = local_date(now) + timedelta(days=ACTION_DAYS)
    stats.refresh(audit.store_id, audit.year, audit.quarter)
    recheck = None
    if audit.score is not None and audit.score < audit.template.recheck_below and audit.recheck_of_id is None:
        with unscoped():
            store = db.session.get(Store, audit.store_id)
            template = db.session.scalar(select(AuditTemplate).where(
                AuditTemplate.family == audit.template.family, AuditTemplate.status == "active"))
            if store.status == "open" and template is not None:
                due = local_date(now) + timedelta(days=RECHECK_DAYS)
                year, quarter = quarter_of(due)
                recheck = plan(store, template, year, quarter, actor, auditor=audit.auditor, due_on=due,
                               recheck_of=audit)
    _tell_franchisee(audit)
    db.session.flush()
    return recheck


def _tell_franchisee(audit: StoreAudit) -> None:
    from app.models.user import user_store
    from app.services import notifications

    with unscoped():
        people = db.session.scalars(select(User).where(User.active.is_(True), User.franchisee_id == audit.franchisee_id, (
            (User.role == "franchise_owner") | ((User.role == "store_manager") & User.id.in_(
                select(user_store.c.user_id).where(user_store.c.store_id == audit.store_id))))).order_by(User.id)).all()
        store_name = db.session.scalar(select(Store.name).where(Store.id == audit.store_id))
    notifications.notify(people, "audit_published", {
        "ref": audit.reference, "store": store_name, "score": str(audit.score), "actions": audit.open_actions},
        url=f"/audits/{audit.id}")


def cancel(audit: StoreAudit, actor: User) -> None:
    """Headquarters cancels a visit not yet submitted (one planned, or one an auditor could not finish)."""
    _require(audit, "planned", "in_progress")
    audit.status = "cancelled"


def reassign(audit: StoreAudit, auditor: User | None, due_on: date | None) -> None:
    _require(audit, "planned")
    _check_auditor(auditor)
    if due_on is not None and due_on != audit.due_on:
        if due_on < local_today():
            raise AuditError(str(_l("The visit cannot be due in the past.")))
        if quarter_of(due_on) != (audit.year, audit.quarter) and audit.recheck_of_id is None:
            raise AuditError(str(_l("Choose a day within %(year)d Q%(quarter)d.", year=audit.year,
                                    quarter=audit.quarter)))
        if audit.recheck_of_id is not None and due_on > local_today() + timedelta(days=RECHECK_MAX_DAYS):
            raise AuditError(str(_l("A re-check visit is due within %(days)d days.", days=RECHECK_MAX_DAYS)))
    audit.auditor_id = auditor.id if auditor else None
    if due_on is not None:
        audit.due_on = due_on


# --- corrective actions ------------------------------------------------------------------------

def _log(action: CorrectiveAction, actor: User, kind: str, text: str | None, now: datetime) -> None:
    action.history = [*(action.history or []), {"at": now.isoformat(timespec="seconds"), "by": actor.id,
                                                "name": actor.display_name, "kind": kind, "text": text or ""}]


def respond(action: CorrectiveAction, actor: User, response: str, root_cause: str, preventive: str,
            now: datetime | None = None) -> None:
    """The franchisee says what was done, why it happened and what prevents a repeat (R33)."""
    if action.status not in ("open", "returned"):
        raise AuditError(str(_l("This action is not waiting for an answer.")))
    if not (response or "").strip():
        raise AuditError(str(_l("Say what was done.")))
    now = now or utcnow()
    action.response = response.strip()
    action.root_cause = (root_cause or "").strip() or None
    action.preventive_action = (preventive or "").strip() or None
    action.responded_at = now
    action.responded_by_id = actor.id
    action.status = "answered"
    _log(action, actor, "answered", action.response, now)
    from app.services.audits import alerts

    alerts.answered(action)


def verify(action: CorrectiveAction, actor: User, accept: bool, note: str | None, now: datetime | None = None) -> None:
    """An auditor accepts the correction or sends it back; never the person who made the fix."""
    if action.status != "answered":
        raise AuditError(str(_l("Only an answered action can be verified.")))
    if action.responded_by_id == actor.id:
        raise AuditError(str(_l("The person who made the correction cannot verify it.")))
    now = now or utcnow()
    if not accept and not (note or "").strip():
        raise AuditError(str(_l("Say what is still missing when sending an answer back.")))
    action.verification_note = (note or "").strip() or None
    if accept:
        action.status = "accepted"
        action.verified_at = now
        action.verified_by_id = actor.id
    else:
        action.status = "returned"
        action.times_returned += 1
        # The store gets time to fix it again: a week at least from the send-back, and no
        # reminder for a delay that was headquarters' (trial 10: chased within a minute).
        action.due_on = max(action.due_on, local_date(now) + timedelta(days=RETURN_DAYS))
        action.overdue_notified_on = None
        action.escalated_at = None
    _log(action, actor, "accepted" if accept else "returned", action.verification_note, now)
    _after_action_change(action.audit, now)
    if not accept:
        from app.services.audits import alerts

        alerts.returned(action)


def appeal(action: CorrectiveAction, actor: User, reason: str, now: datetime | None = None) -> None:
    """The franchisee disputes a finding, with reasons; headquarters decides."""
    if action.appeal_status is not None:
        raise AuditError(str(_l("This finding has already been appealed.")))
    if not action.is_open:
        raise AuditError(str(_l("A closed finding cannot be appealed.")))
    if not (reason or "").strip():
        raise AuditError(str(_l("Give the reasons for the appeal.")))
    now = now or utcnow()
    action.appeal_status = "pending"
    action.appeal_reason = reason.strip()
    action.appealed_at = now
    action.appealed_by_id = actor.id
    _log(action, actor, "appealed", action.appeal_reason, now)
    from app.services.audits import alerts

    alerts.appealed(action)


def decide_appeal(action: CorrectiveAction, actor: User, grant: bool, note: str, new_value: int | None = None,
                  now: datetime | None = None) -> None:
    """Uphold the finding, or re-score the item: the audit's score is recomputed and both
    scores stay in its history; a re-scored finding no longer needs correcting."""
    if action.appeal_status != "pending":
        raise AuditError(str(_l("There is no pending appeal on this finding.")))
    audit = action.audit
    if audit.auditor_id == actor.id:
        raise AuditError(str(_l("The auditor who made the finding cannot decide its appeal; another auditor of "
                                "headquarters does.")))
    if not (note or "").strip():
        raise AuditError(str(_l("Give the reasons for the decision.")))
    now = now or utcnow()
    action.appeal_decision = note.strip()
    action.appeal_decided_at = now
    action.appeal_decided_by_id = actor.id
    if grant:
        item = action.item
        top = 1 if item.scoring == "yes_no" else 5
        value = top if new_value is None else new_value
        if not 0 <= value <= top:
            raise AuditError(str(_l("\u201c%(item)s\u201d is scored from 0 to %(top)d.", item=_text(item), top=top)))
        answer = answers_of(audit)[item.id]
        answer.value = value
        answer.not_applicable = False
        old = audit.score
        _store_score(audit)
        db.session.add(AuditScoreChange(audit=audit, audit_id=audit.id, store_id=audit.store_id,
                                        franchisee_id=audit.franchisee_id, by_id=actor.id, old_score=old,
                                        new_score=audit.score, reason="appeal", note=action.appeal_decision, at=now))
        action.appeal_status = "granted"
        if not scoring.below_standard(item, scoring.Answer(value), audit.template.scale_pass):
            action.status = "withdrawn"
        stats.refresh(audit.store_id, audit.year, audit.quarter)
    else:
        action.appeal_status = "upheld"
    _log(action, actor, "appeal_granted" if grant else "appeal_upheld", action.appeal_decision, now)
    _after_action_change(audit, now)
    if grant:
        _cancel_needless_recheck(audit, actor)
    from app.services.audits import alerts

    alerts.appeal_decided(action, grant)


def _cancel_needless_recheck(audit: StoreAudit, actor: User) -> None:
    """A re-score that lifts the audit to the re-check mark makes its planned re-check needless
    (trial 9: it stayed planned)."""
    if audit.score is None or audit.score < audit.template.recheck_below:
        return
    with unscoped():
        rechecks = db.session.scalars(select(StoreAudit).where(StoreAudit.recheck_of_id == audit.id,
                                                               StoreAudit.status == "planned")).all()
        for recheck in rechecks:
            recheck.status = "cancelled"


def _after_action_change(audit: StoreAudit, now: datetime) -> None:
    """The audit's count of open actions; it closes when none is left."""
    db.session.flush()
    with unscoped():
        audit.open_actions = db.session.scalar(select(func.count()).select_from(CorrectiveAction).where(
            CorrectiveAction.audit_id == audit.id, CorrectiveAction.status.in_(OPEN_ACTION_STATUSES)))
    if audit.open_actions == 0 and audit.status == "published":
        audit.status = "closed"
        audit.closed_at = now


def add_photo(audit: StoreAudit, actor: User, data: bytes, *, item: TemplateItem | None = None,
              action: CorrectiveAction | None = None) -> AuditPhoto:
    """A photo of an item (the auditor, while conducting) or of a correction (the franchisee)."""
    from app.services.complaints.attachments import AttachmentError, clean_image, store_file

    if action is not None:
        if action.status not in ("open", "returned", "answered"):
            raise AuditError(str(_l("Photos are added until the correction is verified.")))
    else:
        _require(audit, "in_progress")
        _require_conductor(audit, actor)
    with unscoped():
        count = db.session.scalar(select(func.count()).select_from(AuditPhoto).where(AuditPhoto.audit_id == audit.id))
    if count >= 200:
        raise AuditError(str(_l("An audit takes at most %(n)d photos.", n=200)))
    try:
        content, content_type, extension = clean_image(data, photos_only=True)
    except AttachmentError as error:
        raise AuditError(str(error)) from None
    photo = AuditPhoto(audit_id=audit.id, item_id=item.id if item else None, action_id=action.id if action else None,
                       store_id=audit.store_id, franchisee_id=audit.franchisee_id,
                       stored_as=store_file(content, extension), content_type=content_type, size=len(content),
                       uploaded_by_id=actor.id)
    db.session.add(photo)
    db.session.flush()
    return photo


def overdue_actions(today: date | None = None):
    """Open corrective actions past their due date, oldest first (for the lists)."""
    today = today or local_today()
    return (select(CorrectiveAction).where(CorrectiveAction.status.in_(TO_CORRECT_STATUSES),
                                           CorrectiveAction.due_on < today))


def score_text(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.2f}"
