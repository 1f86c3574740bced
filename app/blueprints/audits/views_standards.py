"""Headquarters' touchpoint register (R29, R34) and the audit templates built from it (R30)."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.blueprints.audits import bp, forms
from app.blueprints.common import commit_or_explain, flash_form_errors, create_once, save_versioned
from app.extensions import db
from app.i18n import current_locale
from app.models import AuditTemplate, StoreAudit, TemplateItem, TemplateSection, Touchpoint
from app.models.base import local_today
from app.models.mystery import CRITICAL_RULES, SCORINGS, STAGES, TEMPLATE_STATUSES
from app.models.user import DEPARTMENTS
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404, unscoped
from app.services import RuleError, approvals, audit as audit_trail
from app.services.audits import templates


@bp.route("/touchpoints")
@access("audits.standards_view")
def touchpoints():
    """The key touchpoints, their standards and when each is next reviewed (R29, R34)."""
    rows = db.session.scalars(select(Touchpoint).order_by(Touchpoint.active.desc(), Touchpoint.position,
                                                          Touchpoint.code)).all()
    today = local_today()
    return render_template("audits/touchpoints.html", touchpoints=rows, today=today, stages=STAGES,
                           departments=DEPARTMENTS, due=templates.reviews_due(today), locale=current_locale(),
                           reviewed=forms.ReviewedForm(formdata=None))


def _unique_code(form, touchpoint=None) -> bool:
    code = (form.code.data or "").strip().upper()
    form.code.data = code
    other = db.session.scalar(select(Touchpoint).where(Touchpoint.code == code))
    if other is not None and other is not touchpoint:
        form.code.errors.append(_("This code is already used."))
        return False
    return True


@bp.route("/touchpoints/new", methods=["GET", "POST"])
@access("audits.standards")
def new_touchpoint():
    form = forms.NewTouchpointForm(version=1)
    if not form.is_submitted():
        form.next_review_on.data = local_today().replace(year=local_today().year + 1)
    if form.validate_on_submit() and (form.receipt is not None or _unique_code(form)):
        def create():
            position = db.session.scalar(select(func.max(Touchpoint.position))) or 0
            touchpoint = Touchpoint(position=position + 1, reviewed_on=local_today())
            form.populate_obj(touchpoint)
            touchpoint.version = 1
            db.session.add(touchpoint)
            db.session.flush()
            audit_trail.record("touchpoint.created", actor=current_user, target=touchpoint)
            return touchpoint

        done = create_once(form, create, lambda t: url_for("audits.touchpoints", _anchor=f"tp-{t.id}"),
                           _("Touchpoint added."))
        if done:
            return done
    return render_template("audits/touchpoint_form.html", form=form, touchpoint=None)


@bp.route("/touchpoints/<int:touchpoint_id>/edit", methods=["GET", "POST"])
@access("audits.standards")
def edit_touchpoint(touchpoint_id: int):
    touchpoint = get_scoped_or_404(Touchpoint, touchpoint_id)
    form = forms.TouchpointForm(obj=touchpoint)
    if form.validate_on_submit() and _unique_code(form, touchpoint):
        def change():
            form.populate_obj(touchpoint)
            changed = audit_trail.changes(touchpoint)
            if changed:
                audit_trail.record("touchpoint.updated", actor=current_user, target=touchpoint, details=changed)

        if save_versioned(form, touchpoint, change):
            flash(_("Changes saved."), "success")
            return redirect(url_for("audits.touchpoints", _anchor=f"tp-{touchpoint.id}"))
    return render_template("audits/touchpoint_form.html", form=form, touchpoint=touchpoint)


@bp.route("/touchpoints/<int:touchpoint_id>/reviewed", methods=["POST"])
@access("audits.standards")
def touchpoint_reviewed(touchpoint_id: int):
    """The standard was reviewed today; the next review is set (R34)."""
    touchpoint = get_scoped_or_404(Touchpoint, touchpoint_id)
    form = forms.ReviewedForm()
    if form.validate_on_submit():
        def change():
            touchpoint.reviewed_on = local_today()
            touchpoint.next_review_on = form.next_review_on.data
            touchpoint.review_notified_on = None
            audit_trail.record("touchpoint.reviewed", actor=current_user, target=touchpoint,
                               details={"next_review_on": form.next_review_on.data.isoformat()})

        commit_or_explain(change, _("Review recorded."))
    else:
        flash_form_errors(form)
    return redirect(url_for("audits.touchpoints", _anchor=f"tp-{touchpoint.id}"))


# --- templates ---------------------------------------------------------------------------------

@bp.route("/templates")
@access("audits.standards_view")
def template_list():
    rows = db.session.scalars(select(AuditTemplate).order_by(AuditTemplate.family, AuditTemplate.number.desc())).all()
    with unscoped():
        used = dict(db.session.execute(select(StoreAudit.template_id, func.count()).group_by(StoreAudit.template_id)).all())
    return render_template("audits/templates.html", templates=rows, used=used, statuses=TEMPLATE_STATUSES)


def _load_template(template_id: int) -> AuditTemplate:
    return get_scoped_or_404(AuditTemplate, template_id, selectinload(AuditTemplate.sections).selectinload(
        TemplateSection.items), selectinload(AuditTemplate.sections).selectinload(TemplateSection.touchpoint))


@bp.route("/templates/<int:audit_template_id>", methods=["GET", "POST"])
@access("audits.standards_view")
def template(audit_template_id: int):
    """A template version: its sections, items and weights; a draft is edited here."""
    found = _load_template(audit_template_id)
    locale = current_locale()
    settings_form = forms.TemplateSettingsForm(obj=found)
    if request.method == "POST":
        if not can(current_user, "audits.standards"):
            abort(403)
        if settings_form.validate_on_submit():
            try:
                templates.require_draft(found)
            except RuleError as error:
                flash(str(error), "danger")
                return redirect(url_for("audits.template", audit_template_id=found.id))

            def change():
                settings_form.populate_obj(found)

            if save_versioned(settings_form, found, change):
                flash(_("Changes saved."), "success")
                return redirect(url_for("audits.template", audit_template_id=found.id))
    return _render_template(found, settings_form, locale, 422 if settings_form.errors else 200)


def _render_template(found, settings_form, locale, status=200, item_form=None, section_form=None):
    sections = found.sections
    touchpoints = db.session.scalars(select(Touchpoint).where(Touchpoint.active.is_(True)).order_by(
        Touchpoint.position)).all()
    used = {s.touchpoint_id for s in sections}
    total = sum((item.weight for item in found.items), start=0)
    return render_template(
        "audits/template.html", t=found, settings_form=settings_form, locale=locale, frozen=templates.is_frozen(found),
        item_form=item_form or forms.ItemForm(formdata=None, sections=sections, locale=locale, version=1),
        section_form=section_form or forms.SectionForm(formdata=None, locale=locale,
                                                       touchpoints=[t for t in touchpoints if t.id not in used]),
        scorings=SCORINGS, statuses=TEMPLATE_STATUSES, rules=CRITICAL_RULES, problems=templates.problems(found),
        history=approvals.history_of("template", found.id),
        total_weight=total, step=forms.StepForm(formdata=None, version=found.version),
    ), status


@bp.route("/templates/<int:audit_template_id>/new-version", methods=["POST"])
@access("audits.standards")
def new_version(audit_template_id: int):
    found = _load_template(audit_template_id)
    if not forms.StepForm().validate_on_submit():
        flash(_("The form had expired; please try again."), "warning")
        return redirect(url_for("audits.template", audit_template_id=found.id))
    draft = templates.new_version(found, current_user)
    audit_trail.record("audit_template.new_version", actor=current_user, target=draft)
    db.session.commit()
    flash(_("Version %(n)d is a draft: change it here, then put it forward to the committee, whose approval puts "
            "it in use. Audits already conducted keep the "
            "version they were scored with.", n=draft.number), "success")
    return redirect(url_for("audits.template", audit_template_id=draft.id))


@bp.route("/templates/<int:audit_template_id>/sections", methods=["POST"])
@access("audits.standards")
def add_section(audit_template_id: int):
    found = _load_template(audit_template_id)
    locale = current_locale()
    touchpoints = db.session.scalars(select(Touchpoint).where(Touchpoint.active.is_(True))).all()
    form = forms.SectionForm(touchpoints=touchpoints, locale=locale)
    if form.validate_on_submit():
        try:
            templates.require_draft(found)
        except RuleError as error:
            flash(str(error), "danger")
            return redirect(url_for("audits.template", audit_template_id=found.id))
        if any(s.touchpoint_id == form.touchpoint_id.data for s in found.sections):
            flash(_("This touchpoint already has a section."), "warning")
        else:
            found.sections.append(TemplateSection(touchpoint_id=form.touchpoint_id.data, position=len(found.sections)))
            db.session.commit()
            flash(_("Section added: now add its items."), "success")
        return redirect(url_for("audits.template", audit_template_id=found.id))
    return _render_template(found, forms.TemplateSettingsForm(formdata=None, obj=found), locale, 422, section_form=form)


def _item_form(found, locale, obj=None):
    # A new item starts at version 1 (the form's version field is required).
    return forms.ItemForm(obj=obj, sections=found.sections, locale=locale, **({} if obj else {"version": 1}))


@bp.route("/templates/<int:audit_template_id>/items", methods=["POST"])
@bp.route("/templates/<int:audit_template_id>/items/<int:template_item_id>", methods=["GET", "POST"])
@access("audits.standards")
def edit_item(audit_template_id: int, template_item_id: int | None = None):
    """Add an item to a draft, or change one (its text, weight, scoring, critical flag)."""
    found = _load_template(audit_template_id)
    locale = current_locale()
    item = None
    if template_item_id is not None:
        item = next((i for i in found.items if i.id == template_item_id), None)
        if item is None:
            abort(404)
    form = _item_form(found, locale, item)
    if request.method == "GET":
        return render_template("audits/item_form.html", form=form, t=found, item=item)
    if form.validate_on_submit():
        try:
            templates.require_draft(found)
        except RuleError as error:
            flash(str(error), "danger")
            return redirect(url_for("audits.template", audit_template_id=found.id))
        target = item or TemplateItem(position=max((i.position for i in found.items), default=0) + 1)

        def change():
            section = next(s for s in found.sections if s.id == form.section_id.data)
            if target.id is None:
                section.items.append(target)
            elif target.section_id != section.id:
                target.section = section
            for name in ("text_zh", "text_en", "weight", "scoring", "allow_na", "critical", "photo_on_fail"):
                setattr(target, name, getattr(form, name).data)

        if item is None:
            change()
            db.session.commit()
            saved = True
        else:
            saved = save_versioned(form, item, change)
        if saved:
            flash(_("Item saved."), "success")
            return redirect(url_for("audits.template", audit_template_id=found.id, _anchor=f"item-{target.id}"))
    if item is not None:
        return render_template("audits/item_form.html", form=form, t=found, item=item), 422
    return _render_template(found, forms.TemplateSettingsForm(formdata=None, obj=found), locale, 422, item_form=form)


def _change_draft(found, change, done: str, posted_ok: bool = True, to=None):
    """A button's change to a draft template: the posted form checked, the template a draft
    (a version in use is never changed), ``change()`` committed, ``done`` said; then back to the
    template, or to ``to``."""
    back = redirect(url_for("audits.template", audit_template_id=found.id))
    if not posted_ok or not forms.StepForm().validate_on_submit():
        flash(_("The form had expired; please try again."), "warning")
        return back
    try:
        templates.require_draft(found)
    except RuleError as error:
        flash(str(error), "danger")
        return back
    change()
    db.session.commit()
    flash(done, "success")
    return redirect(to) if to else back


@bp.route("/templates/<int:audit_template_id>/items/<int:template_item_id>/delete", methods=["POST"])
@access("audits.standards")
def delete_item(audit_template_id: int, template_item_id: int):
    found = _load_template(audit_template_id)
    item = next((i for i in found.items if i.id == template_item_id), None)
    return _change_draft(found, lambda: item.section.items.remove(item), _("Item removed."), item is not None)


@bp.route("/templates/<int:audit_template_id>/sections/<int:template_section_id>/delete", methods=["POST"])
@access("audits.standards")
def delete_section(audit_template_id: int, template_section_id: int):
    """Drop a touchpoint (and its items) from a draft (trial 7: it could not be removed)."""
    found = _load_template(audit_template_id)
    section = next((s for s in found.sections if s.id == template_section_id), None)
    return _change_draft(found, lambda: found.sections.remove(section), _("Section removed with its items."),
                         section is not None)


@bp.route("/templates/<int:audit_template_id>/discard", methods=["POST"])
@access("audits.standards")
def discard_template(audit_template_id: int):
    """Throw a draft version away; the version in use stays as it is."""
    found = _load_template(audit_template_id)

    def discard():
        audit_trail.record("audit_template.discarded", actor=current_user, target=found)
        approvals.close_for_gone("template", [found.id], current_user)
        db.session.delete(found)

    return _change_draft(found, discard, _("The draft version was thrown away."), to=url_for("audits.template_list"))
