"""The committee's approvals (R4, issue 15): one workflow for every draft under its authority.

What the committee saw when it approved: each approve button carries a fingerprint of the
values on the page, and approval is refused when the draft changed since (trial 16: a
colleague's later draft was approved by a committee member who had never seen it)."""
import hashlib
import json
from dataclasses import dataclass
from typing import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.i18n import current_locale, force_locale
from app.models import User
from app.models.base import utcnow
from app.models.governance import Approval, ApprovalComment
from app.security.policy import can
from app.services import RuleError
from app.services import audit as trail


def fingerprint(values) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:32]


def of_questionnaire(q) -> str:
    return fingerprint({"id": q.id, "edition": q.edition, "follow_up": q.follow_up_at_or_below,
                        "weights": {i.code: str(i.weight.normalize()) for i in q.indicators},
                        "questions": [(x.position, x.kind, x.text_zh, x.text_en, x.indicator_id) for x in q.questions]})


def of_threshold(t) -> str:
    return fingerprint({"id": t.id, "kpi": t.kpi, "edition": t.edition, "green": str(t.green.normalize()),
                        "red": str(t.red.normalize()),
                        "change": str(t.change_percent.normalize()) if t.change_percent is not None else None})


def of_scheme(s) -> str:
    return fingerprint({"id": s.id, "edition": s.edition, "weights": s.weights})


def check(seen: str | None, current: str) -> None:
    if seen != current:
        raise RuleError(_("This draft changed after you opened the page: nothing is approved. Look at it again "
                          "and approve what you see."))


def of_template(t) -> str:
    return fingerprint({"id": t.id, "number": t.number, "rule": t.critical_rule, "cap": str(t.critical_cap),
                        "pass": t.scale_pass, "recheck": str(t.recheck_below), "minutes": t.min_minutes,
                        "sections": [(s.touchpoint_id, s.position, [
                            (i.position, i.text_zh, i.text_en, str(i.weight), i.scoring, i.allow_na, i.critical,
                             i.photo_on_fail) for i in s.items]) for s in t.sections]})


def of_policy(v) -> str:
    return fingerprint({"id": v.id, "number": v.number, "zh": v.body_zh, "en": v.body_en, "summary": v.summary})


# --- the one approval workflow (issue 15, R4) ---------------------------------------------------
# Each kind of draft the committee approves says how to load it, what it looks like (fingerprint),
# what it is called, where it is shown, whether it is still a draft, who may put it forward, and
# what approving it does (the kind's own service: retiring the edition before, moving planned
# audits, publishing the policy). A request is put forward (or, from the draft's own page, the
# committee approves at once), commented on, and approved or returned with a reason; only the
# approval puts the draft in use, and the requests are the history of who approved what, when.


@dataclass(frozen=True)
class Kind:
    label: object
    model: Callable
    fingerprint: Callable
    title: Callable
    url: Callable
    is_draft: Callable
    submit_permission: str
    apply: Callable
    # (label, value) pairs of what is put forward, shown on the request's page.
    summary: Callable = lambda subject, locale: []


_KINDS: dict[str, Kind] = {}


def kinds() -> dict[str, Kind]:
    if not _KINDS:
        _register()
    return _KINDS


def _register() -> None:
    from flask import url_for

    from app.models import AuditTemplate, EvaluationScheme, KpiThreshold, Questionnaire
    from app.models.governance import ManualVersion
    from app.services import evaluation, kpis
    from app.services.audits import templates
    from app.services.governance import manuals
    from app.services.surveys import projects

    def questionnaire(q, user):
        projects.approve(q, user)
        trail.record("questionnaire.approved", actor=user, target=q, details={i.code: str(i.weight) for i in q.indicators})

    def threshold(t, user):
        kpis.approve_threshold(t, user)
        trail.record("kpi_threshold.approved", actor=user, target=t, details={"kpi": t.kpi})

    def scheme(s, user):
        evaluation.approve(s, user, kpis.approved_thresholds())
        trail.record("evaluation_scheme.approved", actor=user, target=s)

    def template(t, user):
        templates.activate(t, user)
        trail.record("audit_template.activated", actor=user, target=t)

    from app.models.kpi import KPIS, THRESHOLD_KPIS

    def number(value) -> str:
        return f"{value.normalize():f}" if hasattr(value, "normalize") else str(value)

    def versioned(name, n):
        return _("%(name)s, version %(n)d", name=name, n=n)

    summaries = {
        "questionnaire": lambda q, locale: [(i.label(locale), f"{number(i.weight)} %") for i in q.indicators],
        "threshold": lambda t, locale: [(_("Green"), number(t.green)), (_("Red"), number(t.red)),
                                        (_("Abnormal change"), f"{number(t.change_percent)} %" if t.change_percent
                                         else "—")],
        "scheme": lambda s, locale: [(str(KPIS[k][0]) if k in KPIS else k, f"{v} %") for k, v in s.weights.items()],
        "template": lambda t, locale: [(s.touchpoint.label(locale), _("%(n)d items, weight %(w)s", n=len(s.items),
                                        w=number(sum((i.weight for i in s.items), 0)))) for s in t.sections],
        "policy": lambda v, locale: [(_("What changed"), v.summary or "—")],
    }

    _KINDS.update({
        "questionnaire": Kind(_l("Questionnaire and its weights"), Questionnaire, of_questionnaire,
                              lambda q, locale: versioned(f"{q.label(locale)} {q.code}", q.edition),
                              lambda q: url_for("surveys.questionnaire", questionnaire_id=q.id),
                              lambda q: q.status == "draft", "surveys.design", questionnaire, summaries["questionnaire"]),
        "threshold": Kind(_l("KPI threshold"), KpiThreshold, of_threshold,
                          lambda t, locale: versioned(str(THRESHOLD_KPIS[t.kpi][0]), t.edition),
                          lambda t: url_for("kpis.thresholds"),
                          lambda t: t.status == "draft", "kpis.thresholds", threshold, summaries["threshold"]),
        "scheme": Kind(_l("Evaluation weights"), EvaluationScheme, of_scheme,
                       lambda s, locale: versioned(str(_l("Evaluation weights")), s.edition),
                       lambda s: url_for("kpis.evaluation_scheme"), lambda s: s.status == "draft", "kpis.thresholds",
                       scheme, summaries["scheme"]),
        "template": Kind(_l("Audit template (touchpoints, standards, weights)"), AuditTemplate, of_template,
                         lambda t, locale: versioned(t.label(locale), t.number),
                         lambda t: url_for("audits.template", audit_template_id=t.id),
                         lambda t: t.status == "draft", "audits.standards", template, summaries["template"]),
        "policy": Kind(_l("Customer-experience policy"), ManualVersion, of_policy,
                       lambda v, locale: versioned(v.manual.title(locale), v.number),
                       lambda v: url_for("governance.manual_version", manual_version_id=v.id),
                       lambda v: v.status == "draft", "governance.manuals",
                       lambda v, user: manuals.publish(v, user, approved=True), summaries["policy"]),
    })


def subject_of(approval):
    return db.session.get(kinds()[approval.kind].model, approval.subject_id)


def pending_for(kind: str, subject_id: int):
    return db.session.scalar(select(Approval).where(Approval.kind == kind, Approval.subject_id == subject_id,
                                                    Approval.status == "pending"))


def history_of(kind: str, subject_id: int) -> list:
    return db.session.scalars(select(Approval).where(Approval.kind == kind, Approval.subject_id == subject_id)
                              .options(selectinload(Approval.submitted_by), selectinload(Approval.decided_by))
                              .order_by(Approval.id.desc())).all()


def _committee():
    return db.session.scalars(select(User).where(User.role == "hq_viewer", User.active.is_(True))).all()


def _titles(spec, subject) -> tuple[str, str]:
    """The request's title in Chinese and in English (the queue shows the reader's)."""
    titles = []
    for locale in ("zh_Hans", "en"):
        with force_locale(locale):
            titles.append(str(spec.title(subject, locale))[:200])
    return titles[0], titles[1]


def submit(kind: str, subject, user, note: str | None = None):
    """Put a draft forward to the committee; the committee is told."""
    spec = kinds()[kind]
    if not can(user, spec.submit_permission):
        raise RuleError(_("Only those who prepare this kind of draft put it forward for approval."))
    if not spec.is_draft(subject):
        raise RuleError(_("Only a draft is put forward for approval."))
    if kind == "policy" and not (subject.body_en or "").strip():
        # The policy is read in both languages (trial 24: English readers got the Chinese text).
        raise RuleError(_("Write the policy in English too before putting it forward."))
    waiting = pending_for(kind, subject.id)
    if waiting is not None and not is_stale(waiting, subject):
        raise RuleError(_("This draft is already waiting for the committee."))
    if waiting is not None:  # changed since: the new request replaces the old one
        _close(waiting, "withdrawn", user, str(_("Replaced: the draft changed and was put forward again.")))
    title_zh, title_en = _titles(spec, subject)
    approval = Approval(kind=kind, subject_id=subject.id, title=title_zh, title_en=title_en,
                        fingerprint=spec.fingerprint(subject), note=(note or "").strip()[:500] or None,
                        submitted_by_id=user.id)
    db.session.add(approval)
    db.session.flush()
    notifications.notify(_committee(), "approval_requested", {"title": approval.title, "title_en": approval.title_en,
                                                             "by": user.display_name},
                         url=f"/governance/approvals/{approval.id}")
    trail.record("approval.submitted", actor=user, details={"kind": kind, "code": approval.title[:60]})
    return approval


def close_for_gone(kind: str, subject_ids, user) -> int:
    """Requests still waiting for drafts that are thrown away or replaced by a newer draft: withdrawn
    (trial 24: a request outlived its draft, and a new draft reusing the id inherited it)."""

    ids = list(subject_ids)
    if not ids:
        return 0
    return db.session.execute(update(Approval).where(
        Approval.kind == kind, Approval.subject_id.in_(ids), Approval.status == "pending").values(
        status="withdrawn", decided_by_id=getattr(user, "id", None), decided_at=utcnow(),
        decision_note=str(_("The draft was thrown away or replaced by a newer draft.")))
        .execution_options(synchronize_session=False)).rowcount


def is_stale(approval, subject) -> bool:
    """Whether the draft changed since it was put forward."""
    return subject is not None and approval.fingerprint != kinds()[approval.kind].fingerprint(subject)


def comment(approval, user, body: str) -> None:
    if approval.status != "pending":
        raise RuleError(_("This request was already decided: %(state)s.", state=approval.status_label))
    body = (body or "").strip()
    if not body:
        raise RuleError(_("Write a comment first."))
    db.session.add(ApprovalComment(approval_id=approval.id, author_id=user.id, body=body))
    db.session.execute(update(Approval).where(Approval.id == approval.id).values(
        comments_count=Approval.comments_count + 1).execution_options(synchronize_session=False))
    db.session.expire(approval, ["comments_count"])


def withdraw(approval, user) -> None:
    if approval.status != "pending":
        raise RuleError(_("Only a request still waiting for the committee is withdrawn."))
    if approval.submitted_by_id != user.id and user.role != "hq_admin":
        raise RuleError(_("Only who put it forward (or the administrator) withdraws it."))
    _close(approval, "withdrawn", user, None)


def _close(approval, status: str, user, note: str | None) -> None:
    moved = db.session.execute(update(Approval).where(Approval.id == approval.id, Approval.status == "pending").values(
        status=status, decided_by_id=user.id, decided_at=utcnow(), decision_note=note,
        fingerprint=approval.fingerprint).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise RuleError(_("Someone else decided on this request meanwhile: look at it again."))
    db.session.refresh(approval)


def decide(approval, user, decision: str, note: str | None, seen: str | None) -> None:
    """The committee approves what it saw (the draft as put forward), or returns it with a reason."""
    if user.role != "hq_viewer":
        raise RuleError(_("Only the customer-experience committee approves or returns a draft (R4)."))
    if approval.status != "pending":
        raise RuleError(_("This request was already decided: %(state)s.", state=approval.status_label))
    spec = kinds()[approval.kind]
    subject = subject_of(approval)
    gone = subject is None or not spec.is_draft(subject)
    if gone and decision == "approve":
        raise RuleError(_("The draft is no longer a draft (put in use, replaced or thrown away): return the request."))
    current = None if gone else spec.fingerprint(subject)
    if decision == "approve":
        if current != approval.fingerprint:
            raise RuleError(_("The draft changed after it was put forward: nothing is approved. Return it, or "
                              "ask for it to be put forward again as it is now."))
        check(seen, approval.fingerprint)
        spec.apply(subject, user)
        _close(approval, "approved", user, (note or "").strip() or None)
    elif decision == "return":
        if not (note or "").strip():
            raise RuleError(_("Say what should change before it comes back."))
        _close(approval, "returned", user, note.strip())
    else:
        raise RuleError(_("Choose to approve or to return it."))
    if approval.submitted_by is not None:
        notifications.notify([approval.submitted_by], "approval_decided",
                             {"title": approval.title, "title_en": approval.title_en, "status": approval.status,
                              "note": approval.decision_note},
                             url=f"/governance/approvals/{approval.id}")
    trail.record(f"approval.{approval.status}", actor=user, details={"kind": approval.kind, "code": approval.title[:60]})


def approve_from_page(kind: str, subject, user, seen: str | None) -> None:
    """The committee approves a draft from its own page: the request waiting for it is decided,
    or, when nobody put it forward, one is recorded and approved at once (the history has it)."""

    spec = kinds()[kind]
    if user.role != "hq_viewer":
        raise RuleError(_("Only the customer-experience committee approves or returns a draft (R4)."))
    if not spec.is_draft(subject):
        raise RuleError(_("This is no longer a draft: it was approved or replaced meanwhile."))
    current = spec.fingerprint(subject)
    check(seen, current)
    approval = pending_for(kind, subject.id)
    if approval is None:
        title_zh, title_en = _titles(spec, subject)
        approval = Approval(kind=kind, subject_id=subject.id, title=title_zh, title_en=title_en,
                            fingerprint=current, submitted_by_id=None)
        db.session.add(approval)
        db.session.flush()
    # A draft changed after it was put forward is refused here as in the queue (trial 24).
    decide(approval, user, "approve", None, current)


# --- what the committee and the submitter are told ------------------------------------------------
from app.services import notifications  # noqa: E402  (the messages register with the module)


def _title(data) -> str:
    return data.get("title_en") or data["title"] if current_locale() == "en" else data["title"]


@notifications.message("approval_requested")
def _requested(data):
    return (_("For the committee's approval: %(title)s", title=_title(data)),
            _("%(name)s put a draft forward to the customer-experience committee.", name=data["by"]))


@notifications.message("approval_decided")
def _decided(data):
    if data["status"] == "approved":
        return _("Approved by the committee: %(title)s", title=_title(data)), _("It is in use from now on.")
    return (_("Returned by the committee: %(title)s", title=_title(data)),
            data.get("note") or _("See the request for the committee's reasons."))
