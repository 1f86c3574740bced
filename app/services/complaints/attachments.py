"""Photos and documents on a complaint: checked by what they contain, not by their name;
photos re-encoded without metadata (the location a phone writes into every photo); stored
outside the database under random names; read only through the tenant scope."""
import io
import os
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import Complaint, ComplaintAttachment, User
from app.services import RuleError
from app.security.tenancy import unscoped

# Image formats kept (as themselves), and the document kind accepted.
IMAGE_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
PDF = ("application/pdf", "pdf")
# A photo larger than this is scaled down (a 50-megapixel phone photo is 20 MB; 2,560 px is plenty).
MAX_SIDE = 2560
Image.MAX_IMAGE_PIXELS = 60_000_000  # a "decompression bomb" beyond this is refused by Pillow


class AttachmentError(RuleError):
    pass


def directory() -> Path:
    path = Path(current_app.config["ATTACHMENT_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def clean_image(data: bytes, photos_only: bool = False) -> tuple[bytes, str, str]:
    """The photo re-encoded without metadata, turned upright; (bytes, content type, extension).
    Also used for audit evidence (services/audits), where only photos are taken."""
    refused = (_l("Only photos (JPEG, PNG, WebP) can be added.") if photos_only else
               _l("Only photos (JPEG, PNG, WebP) and PDF documents can be attached."))
    unreadable = _l("This file is not a readable photo.") if photos_only else _l("This file is not a readable photo or PDF.")
    if photos_only and len(data) > current_app.config["ATTACHMENT_MAX_MB"] * 1024 * 1024:
        raise AttachmentError(str(_l("The file is larger than %(mb)d MB.", mb=current_app.config["ATTACHMENT_MAX_MB"])))
    if not data:
        raise AttachmentError(str(_l("The file is empty.")))
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            if kind not in IMAGE_TYPES:
                raise AttachmentError(str(refused))
            image.load()
            upright = ImageOps.exif_transpose(image)
            if max(upright.size) > MAX_SIDE:
                upright.thumbnail((MAX_SIDE, MAX_SIDE))
            if kind == "JPEG" and upright.mode not in ("RGB", "L"):
                upright = upright.convert("RGB")
            out = io.BytesIO()
            # No exif=, no icc/xmp/text chunks: nothing but the pixels is written.
            upright.save(out, format=kind, **({"quality": 88} if kind in ("JPEG", "WEBP") else {}))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError) as error:
        if isinstance(error, AttachmentError):
            raise
        raise AttachmentError(str(unreadable)) from None
    content_type, extension = IMAGE_TYPES[kind]
    return out.getvalue(), content_type, extension


def _check_pdf(data: bytes) -> None:
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-2048:]:
        raise AttachmentError(str(_l("This file is not a readable photo or PDF.")))


def add(complaint: Complaint, filename: str, data: bytes, actor: User | None) -> ComplaintAttachment:
    """Check, clean and store one file; flushes the new row (the view commits)."""
    config = current_app.config
    if not data:
        raise AttachmentError(str(_l("The file is empty.")))
    if len(data) > config["ATTACHMENT_MAX_MB"] * 1024 * 1024:
        raise AttachmentError(str(_l("The file is larger than %(mb)d MB.", mb=config["ATTACHMENT_MAX_MB"])))
    count = db.session.scalar(select(func.count()).select_from(ComplaintAttachment)
                              .where(ComplaintAttachment.complaint_id == complaint.id))
    if count >= config["ATTACHMENTS_PER_COMPLAINT"]:
        raise AttachmentError(str(_l("A complaint takes at most %(n)d files.", n=config["ATTACHMENTS_PER_COMPLAINT"])))
    if data.startswith(b"%PDF-"):
        _check_pdf(data)
        content, (content_type, extension) = data, PDF
    else:
        content, content_type, extension = clean_image(data)
    stored_as = store_file(content, extension)
    name = os.path.basename((filename or "").replace("\\", "/")).strip()[:100] or f"attachment.{extension}"
    if not name.lower().endswith("." + extension):
        name = f"{name.rsplit('.', 1)[0] if '.' in name else name}.{extension}"[:120]
    attachment = ComplaintAttachment(complaint_id=complaint.id, store_id=complaint.store_id,
                                     franchisee_id=complaint.franchisee_id, filename=name, stored_as=stored_as,
                                     content_type=content_type, size=len(content),
                                     uploaded_by_id=actor.id if actor else None)
    db.session.add(attachment)
    db.session.flush()
    return attachment


def store_file(content: bytes, extension: str) -> str:
    """Write ``content`` under a new random name in ATTACHMENT_DIR; the name."""
    stored_as = f"{secrets.token_hex(16)}.{extension}"
    (directory() / stored_as).write_bytes(content)
    return stored_as


def path_of(attachment) -> Path:
    return directory() / attachment.stored_as


def erase_for(complaint_ids) -> int:
    """Delete the files and rows of these complaints' attachments (a customer anonymised)."""
    ids = list(complaint_ids)
    if not ids:
        return 0
    with unscoped():
        stored = db.session.scalars(select(ComplaintAttachment.stored_as)
                                    .where(ComplaintAttachment.complaint_id.in_(ids))).all()
        db.session.execute(delete(ComplaintAttachment).where(ComplaintAttachment.complaint_id.in_(ids))
                           .execution_options(synchronize_session=False))
    for name in stored:
        (directory() / name).unlink(missing_ok=True)
    return len(stored)
