"""Conducting an audit on a phone: one form of every item, saved as a draft as the auditor goes
(by the page itself every few seconds, and kept on the phone until the server has it), photos
taken with the camera, and submission.

Two devices on one draft (the auditor's phone and laptop): each save writes only the items this
device changed since it loaded them; an item changed on both is kept as saved first and named,
so nothing is overwritten silently (the same rule as every edit form: blueprints/common.py)."""
import hashlib

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.blueprints.audits import bp, forms
from app.blueprints.audits.views import load_audit, photos_by_item
from app.blueprints.common import commit_or_explain, list_text
from app.extensions import db
from app.i18n import current_locale
from app.models import AuditPhoto, AuditTemplate, TemplateItem, TemplateSection
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services import RuleError
from app.services.audits import workflow
from app.services.complaints import attachments
from app.templating import datetime_text

NOTE_MAX = 1000


def fingerprint(value, na: bool, note: str | None) -> str:
    raw = f"{'' if value is None else value}|{1 if na else 0}|{(note or '').strip()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _template(audit) -> AuditTemplate:
    return db.session.scalar(select(AuditTemplate).where(AuditTemplate.id == audit.template_id).options(
        selectinload(AuditTemplate.sections).selectinload(TemplateSection.items),
        selectinload(AuditTemplate.sections).selectinload(TemplateSection.touchpoint)))


def _posted(item: TemplateItem, form) -> tuple[dict, str | None]:
    """This item's posted state, or an error message for it."""
    raw = (form.get(f"value-{item.id}") or "").strip()
    na = raw == "na"
    note = (form.get(f"note-{item.id}") or "").strip()
    problem = None
    value = None
    if raw and not na:
        top = 1 if item.scoring == "yes_no" else 5
        if raw.isascii() and raw.isdigit() and len(raw) <= 2 and 0 <= int(raw) <= top:
            value = int(raw)
        else:
            problem = _("Choose a score from 0 to %(top)d.", top=top)
    if na and not item.allow_na:
        problem, na = _("This item cannot be marked not applicable."), False
    if len(note) > NOTE_MAX:
        problem = _("At most %(max)d characters.", max=NOTE_MAX)
        note = note[:NOTE_MAX]
    return {"value": value, "na": na, "note": note}, problem


def _conductor_audit(audit_id: int):
    audit = load_audit(audit_id)
    if audit.auditor_id != current_user.id:
        abort(403)
    return audit


@bp.route("/<int:store_audit_id>/conduct", methods=["GET", "POST"])
@access("audits.conduct")
def conduct(store_audit_id: int):
    """The audit form. POST saves the draft (the page posts it by itself as the auditor goes,
    asking for JSON); "Submit" saves and hands the audit in."""
    audit = _conductor_audit(store_audit_id)
    if audit.status != "in_progress":
        if request.method == "POST" and request.headers.get("X-Autosave"):
            return jsonify(ok=False, message=_("This audit is no longer being conducted; nothing was saved.")), 409
        if request.method == "POST":  # Back then Save after submitting
            flash(_("This audit was already submitted, so what this page sent was not saved. Here it is as "
                    "submitted."), "warning")
        else:
            flash(_("This audit is not being conducted now."), "info")
        return redirect(url_for("audits.show", store_audit_id=audit.id))
    template = _template(audit)
    errors, conflicts, stale = {}, [], []
    if request.method == "POST":
        form = forms.StepForm()
        if not form.validate_on_submit():
            if request.headers.get("X-Autosave"):
                return jsonify(ok=False, message=_("Not saved: the page had expired. Your answers are kept on this "
                                                   "phone; reload the page to continue.")), 400
            flash(_("The form had expired; your answers are below, please save again."), "warning")
        else:
            errors, conflicts, stale = _save(audit, template, request.form)
            if request.headers.get("X-Autosave"):
                if errors:
                    # Named and marked on the page (trial 11: only "need a look", nothing marked).
                    names = {str(item.id): item.text(current_locale()) for item in template.items}
                    names.update(scenario=_("Scenario"), summary=_("Summary"))
                    named = [names.get(key, key) for key in errors]
                    return jsonify(ok=False, errors=errors, message=ngettext(
                        "Not saved: %(parts)s needs a look (marked below).",
                        "Not saved: %(parts)s need a look (marked below).", len(named), parts=list_text(named))), 422
                answers = workflow.answers_of(audit)
                shown = conflicts + stale  # what the page must now show as it is on file
                item_names = {item.id: item.text(current_locale()) for item in template.items}
                on_file = {str(i): _posted_form(answers.get(i)) for i in shown if isinstance(i, int)}
                on_file_texts = {name: getattr(audit, name) or "" for name in shown if isinstance(name, str)}
                return jsonify(ok=True, saved_at=datetime_text(audit.updated_at, "short"), version=audit.version,
                               fingerprints=_fingerprints(audit, template), conflicts=conflicts, on_file=on_file,
                               on_file_texts=on_file_texts, clashed_texts=[n for n in conflicts if isinstance(n, str)],
                               conflict_message=ngettext(
                                   "%(num)d part of this audit was changed on another device meanwhile: it now shows "
                                   "what was saved there. Change it again if yours is right.",
                                   "%(num)d parts of this audit were changed on another device meanwhile: they now "
                                   "show what was saved there. Change them again if yours are right.",
                                   len(conflicts)) if conflicts else "",
                               conflict_items={str(i): item_names[i] for i in conflicts if isinstance(i, int)},
                               score=workflow.score_text(audit.score), **_missing_reply(audit))
            if not errors:
                if conflicts:
                    flash(ngettext("Saved, except %(num)d answer that was changed on another device meanwhile; it shows "
                                   "what was saved there.",
                                   "Saved, except %(num)d answers that were changed on another device meanwhile; they "
                                   "show what was saved there.", len(conflicts)), "warning")
                elif request.form.get("submit"):
                    if commit_or_explain(lambda: workflow.submit(audit, current_user),
                                         _("Submitted. Headquarters publishes it to the franchisee.")):
                        return redirect(url_for("audits.show", store_audit_id=audit.id))
                    return redirect(url_for("audits.conduct", store_audit_id=audit.id))
                else:
                    flash(_("Draft saved."), "success")
                return redirect(url_for("audits.conduct", store_audit_id=audit.id))
    return render_template(
        "audits/conduct.html", a=audit, template=template, answers=workflow.answers_of(audit),
        fingerprints=_fingerprints(audit, template), errors=errors, posted=request.form if errors else None,
        locale=current_locale(), step=forms.StepForm(formdata=None, version=audit.version),
        photos_by_item=photos_by_item(audit), missing=workflow.missing_to_submit(audit),
    ), 422 if errors else 200


def _missing_reply(audit) -> dict:
    """What is still to do before submitting, for the page to show after an automatic save."""
    missing = workflow.missing_to_submit(audit)
    return {"missing": missing[:8] + (["…"] if len(missing) > 8 else []),
            "missing_title": _("Still to do before submitting: %(n)d.", n=len(missing)) if missing else ""}


def _posted_form(answer) -> dict:
    """An answer as the form's fields hold it ("na", "0".."5" or "", and the note)."""
    if answer is None:
        return {"value": "", "note": ""}
    value = "na" if answer.not_applicable else ("" if answer.value is None else str(answer.value))
    return {"value": value, "note": answer.note or ""}


def _text_print(value) -> str:
    return hashlib.sha256((value or "").strip().encode()).hexdigest()[:12]


def _fingerprints(audit, template) -> dict[str, str]:
    answers = workflow.answers_of(audit)
    result = {"scenario": _text_print(audit.scenario), "summary": _text_print(audit.summary)}
    for item in template.items:
        a = answers.get(item.id)
        result[str(item.id)] = fingerprint(a.value if a else None, a.not_applicable if a else False, a.note if a else None)
    return result


def _save(audit, template, posted) -> tuple[dict, list, list]:
    """Write what this device changed. Returns the errors by item id; the items (ids, or
    "scenario"/"summary") changed both here and on another device, kept as saved there; and those
    changed only on another device, which this page shows stale (trial 9: its next save wrote
    them back)."""
    answers = workflow.answers_of(audit)
    changes, errors, conflicts, stale = {}, {}, [], []
    for item in template.items:
        if f"value-{item.id}" not in posted and f"note-{item.id}" not in posted:
            continue
        state, problem = _posted(item, posted)
        if problem:
            errors[str(item.id)] = problem
            continue
        mine = fingerprint(state["value"], state["na"], state["note"])
        was = posted.get(f"was-{item.id}")
        stored = answers.get(item.id)
        on_file = fingerprint(stored.value if stored else None, stored.not_applicable if stored else False,
                              stored.note if stored else None)
        if mine == on_file:
            continue
        if was is not None and mine == was:
            stale.append(item.id)  # untouched here, changed on another device: this page catches up
            continue
        if was is not None and on_file != was:
            conflicts.append(item.id)  # changed here and on another device: the first save stands
            continue
        changes[item.id] = state
    if errors:
        return errors, conflicts, stale
    # The scenario and the summary: written only when this device changed them, and kept as saved
    # elsewhere when both did (trial 8: a second tab emptied them with every autosave).
    texts = {}
    for name, limit in (("scenario", 300), ("summary", 2000)):
        if name not in posted:
            continue
        value = (posted.get(name) or "").strip()
        if len(value) > limit:
            errors[name] = _("At most %(max)d characters.", max=limit)
            continue
        was, on_file = posted.get(f"was-{name}"), _text_print(getattr(audit, name))
        if _text_print(value) == on_file:
            continue
        if _text_print(value) == was:
            stale.append(name)
            continue
        if was is not None and was != on_file:
            conflicts.append(name)
            continue
        texts[name] = value
    if errors:
        return errors, conflicts, stale
    try:
        workflow.save_answers(audit, current_user, changes, scenario=texts.get("scenario"), summary=texts.get("summary"))
        db.session.commit()
    except RuleError as error:
        db.session.rollback()
        return {"form": str(error)}, conflicts, stale
    except StaleDataError:
        db.session.rollback()
        return {"form": _("Saved on another device at the same moment; please save again.")}, conflicts, stale
    return {}, conflicts, stale


@bp.route("/<int:store_audit_id>/photos", methods=["POST"])
@access("audits.conduct")
def add_photo(store_audit_id: int):
    """A photo of an item, taken with the phone's camera; location data is removed."""
    audit = _conductor_audit(store_audit_id)
    form = forms.StepForm()
    item_id = request.form.get("item_id", type=int)
    item = db.session.get(TemplateItem, item_id) if item_id else None
    if not form.validate_on_submit() or item is None or item.section.template_id != audit.template_id:
        flash(_("Choose a photo for an item of this audit."), "warning")
        return redirect(url_for("audits.conduct", store_audit_id=audit.id))
    upload = request.files.get("photo")
    try:
        workflow.add_photo(audit, current_user, upload.read() if upload else b"", item=item)
        db.session.commit()
    except RuleError as error:
        db.session.rollback()
        # At the top of the page, where the message is (trial 7: the page jumped to the item
        # and the refusal was out of view on a phone).
        flash(_("Photo not added to “%(item)s”: %(reason)s", item=item.text(current_locale()), reason=error),
              "danger")
        return redirect(url_for("audits.conduct", store_audit_id=audit.id))
    flash(_("Photo added."), "success")
    return redirect(url_for("audits.conduct", store_audit_id=audit.id, _anchor=f"item-{item.id}"))


@bp.route("/photos/<int:audit_photo_id>")
@access("audits.view")
def photo(audit_photo_id: int):
    """A photo, through the scope: unpublished audits' photos reach no franchisee."""
    found = get_scoped_or_404(AuditPhoto, audit_photo_id)
    path = attachments.directory() / found.stored_as
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=found.content_type, max_age=0, conditional=True)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
