"""Photos and documents on a complaint: upload (checked, cleaned) and download (in scope only)."""
from flask import abort, flash, redirect, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from app.blueprints.complaints import bp
from app.blueprints.complaints.views import load_complaint
from app.extensions import db
from app.models import ComplaintAttachment
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services.complaints import attachments


class AttachmentForm(FlaskForm):
    file = FileField(validators=[FileRequired()])


@bp.route("/<int:complaint_id>/attachments", methods=["POST"])
@access("complaints.handle")
def upload(complaint_id: int):
    """Attach a photo or a PDF to a complaint."""
    complaint = load_complaint(complaint_id)
    target = url_for("complaints.show", complaint_id=complaint.id) + "#attachments"
    form = AttachmentForm()
    if complaint.status == "closed":
        flash(_("The complaint is closed; nothing more can be attached."), "warning")
        return redirect(target)
    if not form.validate_on_submit():
        flash(_("Choose a file to attach."), "danger")
        return redirect(target)
    upload = form.file.data
    try:
        attachments.add(complaint, upload.filename, upload.read(), current_user)
        db.session.commit()
    except attachments.AttachmentError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(target)
    flash(_("File attached."), "success")
    return redirect(target)


@bp.route("/attachments/<int:complaint_attachment_id>")
@access("complaints.view")
def attachment(complaint_attachment_id: int):
    """A complaint's photo (shown) or PDF (downloaded), for users whose scope reaches it."""
    item = get_scoped_or_404(ComplaintAttachment, complaint_attachment_id)
    path = attachments.path_of(item)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=item.content_type, as_attachment=not item.is_image,
                         download_name=item.filename, max_age=0)
