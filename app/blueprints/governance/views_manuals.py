"""The franchise manual library (R5, R65): manuals and versions (headquarters), numbered copies
and their lending register (headquarters, and each holder for their own)."""
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.blueprints.common import commit_or_explain, flash_form_errors, create_once, keyset_of, save_versioned
from app.blueprints.governance import bp
from app.blueprints.governance.forms import (
    CloseCopyForm, IssueForm, NewManualForm, ReturnCopiesForm, VersionForm,
)
from app.database import write_transaction
from app.extensions import db
from app.forms import EmptyForm
from app.i18n import current_locale, force_locale
from app.models import Franchisee, User
from app.models.base import utcnow
from app.models.governance import COPY_STATES, Manual, ManualCopy, ManualCopyEvent, ManualVersion
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.scope import current_scope
from app.security.tenancy import get_scoped_or_404
from app.services import RuleError, approvals, pdf
from app.services.governance import documents, manuals

COPIES = Ordering((ManualCopy.id,), descending=True)
EVENTS = Ordering((ManualCopyEvent.id,), descending=True)


@bp.route("/manuals")
@access("governance.manuals_view")
def manuals_index():
    """The library: each manual, the version in force and how many copies are held."""
    rows = db.session.execute(select(Manual).order_by(Manual.active.desc(), Manual.code)).scalars().all()
    held = dict(db.session.execute(select(ManualCopy.manual_id, func.count()).where(
        ManualCopy.status == "held").group_by(ManualCopy.manual_id)).all())
    drafts = set(db.session.scalars(select(ManualVersion.manual_id).where(ManualVersion.status == "draft")))
    return render_template("governance/manuals.html", manuals=rows, held=held, drafts=drafts,
                           left=manuals.left_with_copies() if current_scope.is_network else [])


@bp.route("/manuals/new", methods=["GET", "POST"])
@access("governance.manuals")
def new_manual():
    form = NewManualForm()
    if form.validate_on_submit() and (done := create_once(
            form, lambda: manuals.create_manual(form.data, current_user),
            lambda m: url_for("governance.manual", manual_id=m.id),
            _("Manual created with a first draft. Publish it to issue copies."))):
        return done
    return render_template("governance/manual_new.html", form=form), 422 if form.is_submitted() else 200


def _filters():
    status = request.args.get("status", "")
    return {"status": status if status in COPY_STATES else "", "q": (request.args.get("q") or "").strip()[:40]}


def _copies(stmt, filters):
    if filters["status"]:
        stmt = stmt.where(ManualCopy.status == filters["status"])
    if filters["q"]:
        like = filters["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(ManualCopy.serial.like(like, escape="\\") | ManualCopy.holder_name.like(like, escape="\\"))
    return keyset_of(stmt.options(selectinload(ManualCopy.franchisee), selectinload(ManualCopy.manual)), COPIES)


@bp.route("/manuals/<int:manual_id>")
@access("governance.manuals_view")
def manual(manual_id: int):
    """A manual: its versions and the register of its copies (filter by state, search serial or holder)."""
    manual = db.get_or_404(Manual, manual_id)
    filters = _filters()
    page = _copies(select(ManualCopy).where(ManualCopy.manual_id == manual.id), filters)
    franchisee_id = request.args.get("franchisee", type=int)
    franchisees = db.session.scalars(select(Franchisee).where(Franchisee.status != "terminated")
                                     .order_by(Franchisee.name)).all() if can(current_user, "governance.manuals") else []
    form = IssueForm(holders=manuals.holders_for(franchisee_id) if franchisee_id or request.args.get("hq") else [])
    return render_template("governance/manual.html", manual=manual, page=page, filters=filters,
                           versions=manual.versions, form=form, franchisees=franchisees,
                           franchisee_id=franchisee_id, hq=bool(request.args.get("hq")), copy_states=COPY_STATES)


@bp.route("/manuals/<int:manual_id>/issue", methods=["POST"])
@access("governance.manuals")
def issue_copy(manual_id: int):
    manual = db.get_or_404(Manual, manual_id)
    franchisee_id = request.form.get("franchisee", type=int)
    form = IssueForm(holders=manuals.holders_for(franchisee_id))
    if form.validate_on_submit():
        holder = db.session.get(User, form.holder_id.data)
        done = create_once(form, lambda: manuals.issue(manual, holder, current_user, note=form.note.data or None),
                           lambda c: url_for("governance.copy", manual_copy_id=c.id),
                           lambda c: _("Copy %(serial)s issued to %(name)s.", serial=c.serial, name=c.holder_name))
        if done:
            return done
    else:
        flash_form_errors(form)
    args = {"franchisee": franchisee_id} if franchisee_id else {"hq": 1}
    return redirect(url_for("governance.manual", manual_id=manual.id, **args) + "#issue")


@bp.route("/manuals/<int:manual_id>/versions/new", methods=["POST"])
@access("governance.manuals")
def new_version(manual_id: int):
    manual = db.get_or_404(Manual, manual_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            version = manuals.new_draft(manual, current_user)
        except RuleError as error:
            db.session.rollback()
            flash(str(error), "warning")
            draft = manuals.draft_of(manual)
            if draft is not None:
                return redirect(url_for("governance.manual_version", manual_version_id=draft.id))
            return redirect(url_for("governance.manual", manual_id=manual.id))
        db.session.commit()
        flash(_("New draft started from the version in force."), "success")
        return redirect(url_for("governance.manual_version", manual_version_id=version.id))
    return redirect(url_for("governance.manual", manual_id=manual.id))


@bp.route("/versions/<int:manual_version_id>", methods=["GET", "POST"])
@access("governance.manuals_view")
def manual_version(manual_version_id: int):
    """A version's text; a draft is edited here (a version in force never is)."""
    version = db.get_or_404(ManualVersion, manual_version_id)
    form = None
    if version.status == "draft" and can(current_user, "governance.manuals"):
        form = VersionForm(obj=version)
        if form.validate_on_submit() and save_versioned(
                form, version, lambda: manuals.edit_draft(version, form.data)):
            flash(_("Draft saved."), "success")
            return redirect(url_for("governance.manual_version", manual_version_id=version.id))
    elif request.method == "POST":
        if version.status != "draft":
            flash(_("A version in force (or superseded) is never changed: start a new version instead."), "danger")
            return redirect(url_for("governance.manual_version", manual_version_id=version.id))
        abort(403)
    locale = current_locale()
    history = approvals.history_of("policy", version.id) if version.manual.kind == "policy" else []
    return render_template("governance/manual_version.html", version=version, manual=version.manual, form=form,
                           blocks=documents.blocks(version.body(locale)), history=history), \
        422 if form and form.errors else 200


@bp.route("/versions/<int:manual_version_id>/publish", methods=["POST"])
@access("governance.manuals")
def publish_version(manual_version_id: int):
    version = db.get_or_404(ManualVersion, manual_version_id)
    if EmptyForm().validate_on_submit():
        commit_or_explain(lambda: manuals.publish(version, current_user), lambda n: ngettext(
            "Version %(number)d is in force. %(num)d holder is asked to acknowledge it.",
            "Version %(number)d is in force. %(num)d holders are asked to acknowledge it.", n, number=version.number))
    return redirect(url_for("governance.manual", manual_id=version.manual_id))


# --- copies -----------------------------------------------------------------------------------

@bp.route("/copies")
@access("governance.copies")
def copies():
    """The copies the user may see: all of them (headquarters), the franchisee's (its owner), or the
    user's own (a store manager); the scope decides."""
    filters = _filters()
    page = _copies(select(ManualCopy), filters)
    return render_template("governance/copies.html", page=page, filters=filters, copy_states=COPY_STATES)


@bp.route("/copies/<int:manual_copy_id>")
@access("governance.copies")
def copy(manual_copy_id: int):
    return _copy_page(get_scoped_or_404(ManualCopy, manual_copy_id))


def _copy_page(copy, close_form=None, status=200):
    events = keyset_of(select(ManualCopyEvent).where(ManualCopyEvent.copy_id == copy.id)
                       .options(selectinload(ManualCopyEvent.by)), EVENTS)
    version = manuals.in_force(copy.manual)
    return render_template(
        "governance/copy.html", copy=copy, events=events, version=version,
        close_form=close_form or CloseCopyForm(hq=current_user.is_hq),
        may_download=manuals.may_download(copy, current_user),
        may_report=manuals.may_report_loss(copy, current_user),
        to_acknowledge=copy.held and copy.holder_user_id == current_user.id
        and copy.acknowledged_number != copy.manual.current_number,
        replaced_by=db.session.get(ManualCopy, copy.replaced_by_id) if copy.replaced_by_id else None,
        replaces=db.session.get(ManualCopy, copy.replaces_id) if copy.replaces_id else None), status


@bp.route("/copies/<int:manual_copy_id>/acknowledge", methods=["POST"])
@access("governance.hold")
def acknowledge_copy(manual_copy_id: int):
    copy = get_scoped_or_404(ManualCopy, manual_copy_id)
    if EmptyForm().validate_on_submit():
        commit_or_explain(lambda: manuals.acknowledge(copy, current_user),
                          lambda n: _("Thank you: version %(number)d of %(serial)s is acknowledged.", number=n,
                                      serial=copy.serial))
    return redirect(url_for("governance.copy", manual_copy_id=copy.id))


@bp.route("/copies/<int:manual_copy_id>/close", methods=["POST"])
@access("governance.copies")
def close_copy(manual_copy_id: int):
    copy = get_scoped_or_404(ManualCopy, manual_copy_id)
    if not manuals.may_report_loss(copy, current_user):
        abort(403)
    form = CloseCopyForm(hq=current_user.is_hq)
    if form.validate_on_submit():
        try:
            manuals.close(copy, form.state.data, form.note.data, current_user)
        except RuleError as error:
            # The form comes back open, with what was chosen and typed (trial 23).
            db.session.rollback()
            form.note.errors = [*form.note.errors, str(error)]
            return _copy_page(copy, close_form=form, status=422)
        db.session.commit()
        flash(_("Recorded: copy %(serial)s is %(state)s.", serial=copy.serial, state=COPY_STATES[form.state.data]),
              "success")
        return redirect(url_for("governance.copy", manual_copy_id=copy.id))
    return _copy_page(copy, close_form=form, status=422)


@bp.route("/copies/<int:manual_copy_id>/reissue", methods=["POST"])
@access("governance.manuals")
def reissue_copy(manual_copy_id: int):
    copy = get_scoped_or_404(ManualCopy, manual_copy_id)
    if EmptyForm().validate_on_submit():
        result = {}

        def reissue():
            result["copy"] = manuals.reissue(copy, current_user)
            return result["copy"]
        if commit_or_explain(reissue, lambda c: _("Reissued under the new number %(serial)s.", serial=c.serial)):
            return redirect(url_for("governance.copy", manual_copy_id=result["copy"].id))
    return redirect(url_for("governance.copy", manual_copy_id=copy.id))


@bp.route("/copies/<int:manual_copy_id>/pdf")
@access("governance.copies")
def copy_pdf(manual_copy_id: int):
    """The manual in force as a PDF carrying the copy's serial number and holder on every page;
    each download is a line of the register."""
    copy = get_scoped_or_404(ManualCopy, manual_copy_id)
    if not manuals.may_download(copy, current_user):
        abort(403)
    version = manuals.in_force(copy.manual)
    if version is None:
        flash(_("This manual has no version in force."), "warning")
        return redirect(url_for("governance.copy", manual_copy_id=copy.id))
    locale = current_locale()
    language = "en" if locale == "en" and version.body_en else "zh_Hans"
    with force_locale(language):
        html = render_template("governance/pdf/manual.html", copy=copy, version=version, manual=copy.manual,
                               blocks=documents.blocks(version.body(language)), language=language,
                               title=copy.manual.title(language), generated_at=utcnow(),
                               generated_by=current_user.display_name)
        page_numbers = _("Page {page} of {pages}")
    data, _pages = pdf.render(html, page_numbers)
    with write_transaction(db.session):  # the register's line, in a transaction that starts with the write
        manuals.record_download(db.session.get(ManualCopy, copy.id), current_user, version.number)
    filename = f"{copy.serial}-v{version.number}.pdf"
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


@bp.route("/franchisees/<int:franchisee_id>/return-copies", methods=["POST"])
@access("governance.manuals")
def return_copies(franchisee_id: int):
    franchisee = get_scoped_or_404(Franchisee, franchisee_id)
    form = ReturnCopiesForm()
    if form.validate_on_submit():
        commit_or_explain(lambda: manuals.return_all(franchisee, form.note.data, current_user),
                          lambda n: ngettext("%(num)d copy of %(name)s recorded as returned.",
                                           "%(num)d copies of %(name)s recorded as returned.", n, name=franchisee.name))
    else:
        flash_form_errors(form)
    return redirect(url_for("governance.manuals_index"))
