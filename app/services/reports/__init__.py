"""Issuing printed reports (issue 13): gather the figures, render the template in the reader's
language, print it with WeasyPrint (services/pdf.py) and keep the exact bytes with their
checksum as a new version.

The figures are read in one short transaction that ends before the (half-second) rendering, and
the result is written in another; the database is never held open while WeasyPrint works.
Who may report on what is the tenant scope's business: a store or franchisee out of the caller's
scope is not found (``LookupError``), exactly as its pages are.
"""
import hashlib
import time

from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.database import write_transaction
from app.extensions import db
from app.i18n import force_locale
from app.models import Franchisee, Store, StoreAudit
from app.models.base import local_today, utcnow
from app.models.kpi import KPIS
from app.models.report import Report, ReportFile
from app.services import RuleError, charts, pdf
from app.services import kpis as kpi_service
from app.services.reports import analysis, periods, records
from app.services.reports import groups as group_report
from app.services.reports import store as store_report


def _chart_label(code: str, name: str) -> str:
    """An indicator's label in a chart: short enough to leave the bars their room (trial 18: the
    English names took the whole width); the table beside the chart has them in full."""
    return f"{code} {name if len(name) <= 14 else name[:13] + '…'}"


def _period_values(period: int) -> dict:
    """What the templates say of the period: its label and days, whether it is a quarter (whose
    KPIs are its half-year's) and whether it is over."""
    return dict(period_label=periods.label(period), bounds=periods.bounds(period), quarter=periods.is_quarter(period),
                half_label=kpi_service.label(periods.half_of(period)), interim=periods.interim(period),
                today=local_today())


def key_of(kind: str, period: int | None, franchisee_id: int | None, store_id: int | None, language: str,
           subject_id: int | None = None) -> str:
    return f"{kind}:{period or ''}:{franchisee_id or ''}:{store_id or ''}:{subject_id or ''}:{language}"


def _store(store_id: int) -> Store:
    store = db.session.scalar(select(Store).where(Store.id == store_id)
                              .options(selectinload(Store.region), selectinload(Store.franchisee)))
    if store is None:
        raise LookupError(store_id)
    return store


def store_html(store_id: int, period: int, language: str, *, user_name: str, network: bool) -> tuple[str, str, str, dict]:
    """The HTML of a store's report, its title, its footer's page numbering and its owners
    (store and franchisee ids)."""
    store = _store(store_id)
    with force_locale(language):
        thresholds = kpi_service.approved_thresholds()
        figures = store_report.figures(store, period, thresholds, language, network_rank=network)
        chart = None
        if figures.indicators:
            chart = charts.bars(_("Satisfaction indicators (0–100)"), [_chart_label(c, n) for c, n, *_rest in figures.indicators],
                                {kpi_service.label(periods.half_of(period)): [i[4] for i in figures.indicators],
                                 kpi_service.label(kpi_service.previous(periods.half_of(period))):
                                     [figures.indicators_previous.get(i[0]) for i in figures.indicators]},
                                horizontal=True, lower=0, upper=100)
        title = _("Store evaluation report") + f" · {store.code} {store.name} · {periods.label(period)}"
        html = render_template("reports/pdf/store.html", f=figures, chart=chart, **_period_values(period),
                               title=title, generated_by=user_name, generated_at=utcnow(),
                               language=language)
        numbers = _("Page {page} of {pages}")
    return html, title, numbers, {"store_id": store.id, "franchisee_id": store.franchisee_id}


def group_html(franchisee_id: int | None, period: int, language: str, *, user_name: str) -> tuple[str, str, str, dict]:
    """A franchisee's report (its stores compared and ranked) or, without ``franchisee_id``, the
    network summary; the caller's scope decides whether the franchisee (or network) is theirs."""
    network = franchisee_id is None
    if network:
        subject = None
    else:
        franchisee = db.session.scalar(select(Franchisee).where(Franchisee.id == franchisee_id))
        if franchisee is None:
            raise LookupError(franchisee_id)
        subject = franchisee.name
    with force_locale(language):
        thresholds = kpi_service.approved_thresholds()
        g = group_report.figures(period, thresholds, language, franchisee_id)
        heading = _("Network summary") if network else _("Franchisee report")
        subject = subject or _("The whole network")
        chart = None
        if g.has_data and g.grades and any(n for _l, n in g.grades):
            # The grade letters under the bars (the English names ran together); the cards name them.
            chart = charts.bars(_("Stores by grade"), [label.split(" · ")[0] for label, _n in g.grades],
                                {_("Stores"): [n for _l, n in g.grades]},
                                counts=True)
        title = f"{heading} · {subject} · {periods.label(period)}"
        html = render_template("reports/pdf/group.html", g=g, chart=chart, **_period_values(period),
                               title=title, heading=heading, subject=subject, network=network,
                               generated_by=user_name, generated_at=utcnow(), language=language, kpis_=KPIS,
                               compared=group_report.COMPARED, ends=group_report.RANK_ENDS)
        numbers = _("Page {page} of {pages}")
    return html, title, numbers, {"store_id": None, "franchisee_id": franchisee_id}


def survey_html(project_id: int, language: str, *, user_name: str, franchisee_id: int | None) -> tuple[str, str, str, dict]:
    """A survey project's report (R55) for the caller's scope: the network (headquarters) or
    ``franchisee_id``'s stores (its owner, whose scope already holds only those)."""
    from app.models.survey import Questionnaire, SurveyProject

    project = db.session.scalar(select(SurveyProject).where(SurveyProject.id == project_id))
    if project is None:
        raise LookupError(project_id)
    with force_locale(language):
        s = analysis.survey_figures(project, language, by_store=franchisee_id is not None)
        questionnaire = db.session.get(Questionnaire, project.questionnaire_id)
        subject = _franchisee_name(franchisee_id) if franchisee_id else _("The whole network")
        chart = None
        if s["has_data"] and s["means"]:
            chart = charts.bars(_("Satisfaction indicators (0–100)"), [_chart_label(c, n) for c, n, _w, _m in s["means"]],
                                {project.name: [m * 20 if m is not None else None for _c, _n, _w, m in s["means"]]},
                                horizontal=True, lower=0, upper=100)
        title = f"{_('Satisfaction survey report')} · {project.name} · {subject}"
        html = render_template("reports/pdf/survey.html", s=s, project=project, subject=subject, chart=chart,
                               interim=project.ends_on >= local_today(), today=local_today(),
                               questionnaire_name=questionnaire.label(language) if questionnaire else "—", title=title,
                               generated_by=user_name, generated_at=utcnow(), language=language)
        numbers = _("Page {page} of {pages}")
    return html, title, numbers, {"store_id": None, "franchisee_id": franchisee_id, "subject_id": project.id,
                                  "subject_label": f"survey{project.id}"}


def complaints_html(period: int, language: str, *, user_name: str, franchisee_id: int | None) -> tuple[str, str, str, dict]:
    """The half-year's complaint analysis (R57) of the network or of one franchisee's stores."""
    with force_locale(language):
        a = analysis.complaint_figures(period, language, franchisee_id)
        subject = _franchisee_name(franchisee_id) if franchisee_id else _("The whole network")
        chart = None
        if a["has_data"]:
            chart = charts.bars(_("Complaints received by month"), [f"{m // 100}-{m % 100:02d}" for m, _n, _r in a["monthly"]],
                                {_("Received"): [n for _m, n, _r in a["monthly"]]}, counts=True)
        title = f"{_('Complaint analysis report')} · {subject} · {periods.label(period)}"
        html = render_template("reports/pdf/complaints.html", a=a, subject=subject, chart=chart, title=title,
                               **_period_values(period),
                               by_store=franchisee_id is not None, generated_by=user_name, generated_at=utcnow(),
                               language=language)
        numbers = _("Page {page} of {pages}")
    return html, title, numbers, {"store_id": None, "franchisee_id": franchisee_id}


def _franchisee_name(franchisee_id: int) -> str:
    name = db.session.scalar(select(Franchisee.name).where(Franchisee.id == franchisee_id))
    if name is None:
        raise LookupError(franchisee_id)
    return name


SCORE_REASONS = {"submitted": _l("Submitted"), "appeal": _l("Re-scored on appeal")}


def audit_html(audit_id: int, language: str, *, user_name: str) -> tuple[str, str, str, dict]:
    """One published mystery-shopper visit, section by section (only published ones: the file
    is kept where the store's people can read it)."""
    published = db.session.scalar(select(StoreAudit.published_at).where(StoreAudit.id == audit_id))
    if published is None:  # (said in the reader's language, before the report's is forced)
        if db.session.scalar(select(StoreAudit.id).where(StoreAudit.id == audit_id)) is None:
            raise LookupError(audit_id)
        raise RuleError(_("An audit is printed once headquarters has published it."))
    with force_locale(language):
        f = records.audit_figures(audit_id, language)
        audit = f["audit"]
        auditor = audit.auditor
        # The store's people read the kept file: a mystery shopper stays "a mystery shopper".
        shown = (_("Mystery shopper") if auditor is not None and auditor.role == "mystery_shopper"
                 else auditor.display_name if auditor is not None else "—")
        title = f"{_('Mystery-shopper audit report')} · {audit.store.code} {audit.store.name} · {audit.reference}"
        discreet = auditor is not None and auditor.role == "mystery_shopper"  # nor when exactly they came
        html = render_template("reports/pdf/audit.html", **f, auditor=shown, discreet=discreet, title=title, generated_by=user_name,
                               generated_at=utcnow(), language=language, score_reasons=SCORE_REASONS)
        numbers = _("Page {page} of {pages}")
    return html, title, numbers, {"store_id": audit.store_id, "franchisee_id": audit.franchisee_id,
                                  "subject_id": audit.id, "subject_label": audit.reference}


def complaint_html(complaint_id: int, language: str, *, user_name: str) -> tuple[str, str, str, dict]:
    """One complaint's case file: the facts, the customer's words, causes and actions, tasks and
    the whole timeline."""
    from app.models.complaint import CHECKLIST, EVENT_KINDS, STATUSES
    from app.models.user import DEPARTMENTS

    with force_locale(language):
        f = records.complaint_figures(complaint_id, language)
        c = f["c"]
        title = f"{_('Complaint case file')} · {c.reference}"
        html = render_template("reports/pdf/complaint.html", **f, title=title, generated_by=user_name,
                               generated_at=utcnow(), language=language, event_kinds=EVENT_KINDS, statuses=STATUSES,
                               checklist=CHECKLIST,
                               departments=DEPARTMENTS)
        numbers = _("Page {page} of {pages}")
    return html, title, numbers, {"store_id": c.store_id, "franchisee_id": c.franchisee_id, "subject_id": c.id,
                                  "subject_label": c.reference}


def issue(kind: str, *, period: int | None, language: str, user=None, store_id: int | None = None,
          franchisee_id: int | None = None, batch_id: int | None = None, network: bool = False,
          subject_id: int | None = None) -> Report:
    """Render and keep one report; returns the new version's row (committed). ``network``: the
    caller sees the whole network (a store report then gives the number of stores ranked)."""
    name = user.display_name if user is not None else _("the system")
    if kind == "store":
        html, title, numbers, owners = store_html(store_id, period, language, user_name=name, network=network)
    elif kind == "franchisee" and franchisee_id is not None:
        html, title, numbers, owners = group_html(franchisee_id, period, language, user_name=name)
    elif kind == "network" and network:
        html, title, numbers, owners = group_html(None, period, language, user_name=name)
    elif kind == "survey" and subject_id is not None and (network or franchisee_id is not None):
        html, title, numbers, owners = survey_html(subject_id, language, user_name=name,
                                                   franchisee_id=None if network else franchisee_id)
    elif kind == "complaints" and (network or franchisee_id is not None):
        html, title, numbers, owners = complaints_html(period, language, user_name=name, franchisee_id=franchisee_id)
    elif kind == "audit" and subject_id is not None:
        html, title, numbers, owners = audit_html(subject_id, language, user_name=name)
    elif kind == "complaint" and subject_id is not None:
        html, title, numbers, owners = complaint_html(subject_id, language, user_name=name)
    else:
        raise RuleError(_("Unknown report."))
    db.session.commit()  # ends the read: nothing stays open while WeasyPrint works
    started = time.perf_counter()
    data, pages = pdf.render(html, numbers)
    elapsed = int((time.perf_counter() - started) * 1000)
    return _keep(kind, period, language, title, owners, data, pages, elapsed, user, batch_id)


def _keep(kind, period, language, title, owners, data: bytes, pages: int, elapsed: int, user, batch_id) -> Report:
    """Store the bytes as the next version of their report, in one short write transaction
    (SQLite: it takes the write lock first, so two workers storing at once wait their turn
    instead of failing with "database is locked" - trial 18)."""
    key = key_of(kind, period, owners.get("franchisee_id"), owners.get("store_id"), language, owners.get("subject_id"))
    digest = hashlib.sha256(data).hexdigest()
    for _attempt in range(5):
        try:
            with write_transaction(db.session):
                version = (db.session.scalar(select(func.max(Report.version)).where(Report.key == key)) or 0) + 1
                report = Report(key=key, kind=kind, period=period, language=language, version=version,
                                title=title[:200], generated_by_id=getattr(user, "id", None), batch_id=batch_id,
                                sha256=digest, size=len(data), pages=pages, render_ms=elapsed, **owners)
                db.session.add(report)
                db.session.flush()
                db.session.add(ReportFile(report_id=report.id, data=data))
            return report
        except IntegrityError:  # someone issued the same report at the same moment: take the next number
            continue
    raise RuleError(_("The report could not be saved; please try again."))


def pdf_bytes(report: Report) -> bytes:
    """The issued bytes, checked against the checksum taken when they were issued."""
    data = db.session.get(ReportFile, report.id).data
    if hashlib.sha256(data).hexdigest() != report.sha256:
        raise RuleError(_("This report's file does not match its checksum; generate it again."))
    return data
