"""Corrective actions (整改, R33): the franchisee's list, the answer with photos, the auditor's
verification, and appeals of a finding."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from app.blueprints.audits import bp, forms
from app.blueprints.common import capped_count, commit_or_explain, keyset_of
from app.blueprints.customers.views_customers import store_choices
from app.extensions import db
from app.i18n import current_locale
from app.models import AuditPhoto, CorrectiveAction, Store, StoreAudit
from app.models.base import local_today
from app.models.mystery import ACTION_STATUSES, APPEAL_STATUSES, TO_CORRECT_STATUSES
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404
from app.services import RuleError
from app.services.audits import workflow

HISTORY = {
    "answered": _l("Answered"),
    "accepted": _l("Correction accepted"),
    "returned": _l("Sent back"),
    "appealed": _l("Appealed"),
    "appeal_granted": _l("Appeal granted: re-scored"),
    "appeal_upheld": _l("Appeal refused: finding upheld"),
}
ACTION_TABS = {
    "open": _l("To be corrected"),
    "overdue": _l("Overdue"),
    "answered": _l("To verify"),
    "appeals": _l("Appeals"),
    "all": _l("All"),
}
BY_DUE = Ordering((CorrectiveAction.due_on, CorrectiveAction.id))
BY_NEWEST = Ordering((CorrectiveAction.id,), descending=True)


def _action_query(tab: str, store: int | None, today):
    stmt = select(CorrectiveAction)
    if tab == "open":
        stmt = stmt.where(CorrectiveAction.status.in_(("open", "returned")))
    elif tab == "overdue":
        stmt = stmt.where(CorrectiveAction.status.in_(TO_CORRECT_STATUSES), CorrectiveAction.due_on < today)
    elif tab == "answered":
        stmt = stmt.where(CorrectiveAction.status == "answered")
    elif tab == "appeals":
        stmt = stmt.where(CorrectiveAction.appeal_status == "pending")
    if store:
        stmt = stmt.where(CorrectiveAction.store_id == store)
    return stmt


@bp.route("/actions")
@access("audits.view")
def actions():
    """What the audits found and what is being done about it."""
    tab = request.args.get("tab", "open")
    tab = tab if tab in ACTION_TABS else "open"
    store = request.args.get("store", type=int)
    today = local_today()
    stmt = _action_query(tab, store, today).options(
        joinedload(CorrectiveAction.store).load_only(Store.id, Store.code, Store.name),
        joinedload(CorrectiveAction.item), joinedload(CorrectiveAction.audit).load_only(StoreAudit.id, StoreAudit.reference))
    page = keyset_of(stmt, BY_NEWEST if tab == "all" else BY_DUE)
    counts = {t: capped_count(_action_query(t, None, today).with_only_columns(CorrectiveAction.id))
              for t in ("open", "overdue", "answered", "appeals")}
    return render_template("audits/actions.html", page=page, tab=tab, tabs=ACTION_TABS, counts=counts, today=today,
                           statuses=ACTION_STATUSES, appeal_statuses=APPEAL_STATUSES, store=store,
                           stores=store_choices(), locale=current_locale())


def _load(action_id: int) -> CorrectiveAction:
    return get_scoped_or_404(CorrectiveAction, action_id, joinedload(CorrectiveAction.audit),
                             joinedload(CorrectiveAction.item), joinedload(CorrectiveAction.store))


@bp.route("/actions/<int:corrective_action_id>")
@access("audits.view")
def action(corrective_action_id: int):
    found = _load(corrective_action_id)
    return _render(found)


def _typed(form) -> list[tuple[str, str]]:
    """The texts a refused post carried, to show when its form is no longer offered (trial 10:
    a second tab's answer to an action answered meanwhile vanished)."""
    return [(str(field.label.text), field.data.strip()) for field in form
            if field.type == "TextAreaField" and isinstance(field.data, str) and field.data.strip()]


def _render(found, status=200, kept=(), **given):
    version = found.version
    forms_shown = {
        "respond": given.get("respond") or forms.RespondForm(formdata=None, version=version,
                                                             response=found.response, root_cause=found.root_cause,
                                                             preventive_action=found.preventive_action),
        "verify": given.get("verify") or forms.VerifyForm(formdata=None, version=version),
        "appeal": given.get("appeal") or forms.AppealForm(formdata=None, version=version),
        "decide": given.get("decide") or forms.DecideAppealForm(formdata=None, version=version),
        "photo": forms.StepForm(formdata=None, version=version),
    }
    photos = db.session.scalars(select(AuditPhoto).where(AuditPhoto.audit_id == found.audit_id,
                                                         (AuditPhoto.action_id == found.id) |
                                                         ((AuditPhoto.item_id == found.item_id) &
                                                          AuditPhoto.action_id.is_(None)))
                                .order_by(AuditPhoto.id)).all()
    answer = next((a for a in found.audit.answers if a.item_id == found.item_id), None)
    return render_template(
        "audits/action.html", x=found, forms=forms_shown, statuses=ACTION_STATUSES, appeal_statuses=APPEAL_STATUSES,
        evidence=[p for p in photos if p.action_id is None], fixes=[p for p in photos if p.action_id == found.id],
        answer=answer, locale=current_locale(), today=local_today(), history_labels=HISTORY, kept=kept,
        can_verify=can(current_user, "audits.verify") and found.responded_by_id != current_user.id,
    ), status


STEPS = {
    "respond": (forms.RespondForm, "audits.respond",
                lambda x, f: workflow.respond(x, current_user, f.response.data, f.root_cause.data, f.preventive_action.data),
                _l("Answer sent: an auditor will verify it.")),
    "verify": (forms.VerifyForm, "audits.verify",
               lambda x, f: workflow.verify(x, current_user, f.decision.data == "accept", f.note.data),
               _l("Verification recorded.")),
    "appeal": (forms.AppealForm, "audits.appeal", lambda x, f: workflow.appeal(x, current_user, f.reason.data),
               _l("Appeal sent: headquarters decides.")),
    "decide": (forms.DecideAppealForm, "audits.decide_appeal",
               lambda x, f: workflow.decide_appeal(x, current_user, f.decision.data == "grant", f.note.data,
                                                   f.new_value.data),
               _l("Decision recorded.")),
}


@bp.route("/actions/<int:corrective_action_id>/<any(respond, verify, appeal, decide):what>", methods=["GET", "POST"])
@access("audits.view")
def action_step(corrective_action_id: int, what: str):
    """A step on a corrective action. GET (a reload, a language switch) returns to the action."""
    form_class, permission, run, done = STEPS[what]
    found = _load(corrective_action_id)
    if request.method == "GET":
        return redirect(url_for("audits.action", corrective_action_id=found.id))
    if not can(current_user, permission):
        abort(403)
    form = form_class()
    if not form.validate_on_submit():
        return _render(found, 422, **{what: form})
    if form.version.data != found.version:
        kept = _typed(form)
        same = (found.response or "", found.root_cause or "", found.preventive_action or "") == tuple(
            (f.data or "").strip() for f in (form.response, form.root_cause, form.preventive_action)
        ) if what == "respond" else False
        if what == "respond" and found.status == "answered" and same:
            flash(_("This was already done; nothing was changed."), "info")  # the same answer sent twice
            return redirect(url_for("audits.action", corrective_action_id=found.id))
        if what == "respond" and found.status not in ("open", "returned"):
            # No answer form is offered any more (trial 11: "send again" asked the impossible).
            flash(_("Someone else answered this action meanwhile; their answer is shown. What you typed is kept "
                    "below, to copy into a message to them or to headquarters if something is missing."), "warning")
        else:
            flash(_("Someone else changed this action meanwhile; check it and send again. What you typed is kept "
                    "below."), "warning")
        form.version.data = found.version
        form.version.raw_data = [str(found.version)]
        return _render(found, 409, kept=kept, **{what: form})
    try:
        run(found, form)
        upload = request.files.get("photo") if what == "respond" else None
        if upload is not None and upload.filename:
            workflow.add_photo(found.audit, current_user, upload.read(), action=found)
        db.session.commit()
    except RuleError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _render(_load(corrective_action_id), 422, **{what: form})
    except StaleDataError:
        db.session.rollback()
        flash(_("Someone else changed this action meanwhile; check it and send again. Your text is kept below."),
              "warning")
        return _render(_load(corrective_action_id), 409, **{what: form})
    flash(str(done), "success")
    return redirect(url_for("audits.action", corrective_action_id=found.id))


@bp.route("/actions/<int:corrective_action_id>/photos", methods=["POST"])
@access("audits.respond")
def action_photo(corrective_action_id: int):
    """A photo of the correction, from the franchisee."""
    found = _load(corrective_action_id)
    if not forms.StepForm().validate_on_submit():
        flash(_("The form had expired; please try again."), "warning")
        return redirect(url_for("audits.action", corrective_action_id=found.id))
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        flash(_("Choose a photo first."), "warning")
        return redirect(url_for("audits.action", corrective_action_id=found.id))
    commit_or_explain(lambda: workflow.add_photo(found.audit, current_user, upload.read(), action=found),
                      _("Photo added."))
    return redirect(url_for("audits.action", corrective_action_id=found.id))
