"""Photos and documents on complaints (issue 9): checked by content, size-limited, location
metadata stripped, stored outside the database, served only within the tenant scope."""
import io

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import ComplaintAttachment
from app.security.tenancy import unscoped


@pytest.fixture(autouse=True)
def attachment_dir(app, tmp_path):
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    yield


def _photo_with_location() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (31.0, 11.0, 30.0), 3: "E", 4: (121.0, 26.0, 10.0)}  # near 漕溪北路
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _upload(client, complaint_id, data: bytes, name: str):
    return client.post_form(f"/complaints/{complaint_id}/attachments", {"file": (io.BytesIO(data), name)},
                            content_type="multipart/form-data")


def _attachments(app, complaint_id):
    with app.app_context(), unscoped():
        return db.session.scalars(select(ComplaintAttachment).where(ComplaintAttachment.complaint_id == complaint_id)).all()


def test_a_photo_is_stored_without_its_location_and_served_to_the_store_only(app, world, login_as):
    cid = world.complaints["a"]
    photo = _photo_with_location()
    assert b"PhoneMaker" in photo and Image.open(io.BytesIO(photo)).getexif().get(0x8825)
    staff = login_as("staff_a")
    assert _upload(staff, cid, photo, "../../etc/损坏照片.jpg").status_code == 302
    (item,) = _attachments(app, cid)
    assert item.filename == "损坏照片.jpg" and item.content_type == "image/jpeg"
    served = staff.get(f"/complaints/attachments/{item.id}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    cleaned = Image.open(io.BytesIO(served.data))
    assert not cleaned.getexif() and b"PhoneMaker" not in served.data
    assert "no-store" in served.headers["Cache-Control"]  # never kept by a shared cache
    served.close()
    assert login_as("owner_b").get(f"/complaints/attachments/{item.id}").status_code == 404
    by_department = login_as("dept").get(f"/complaints/attachments/{item.id}")
    assert by_department.status_code == 200  # the complaint their task is on
    by_department.close()
    page = staff.get(f"/complaints/{cid}")
    assert f"/complaints/attachments/{item.id}" in page.text


def test_disguised_oversize_and_broken_files_are_refused(app, world, login_as):
    cid = world.complaints["a"]
    staff = login_as("staff_a")
    script = b"<script>alert(1)</script>"
    assert _upload(staff, cid, script, "photo.jpg").status_code == 302  # named .jpg, is not one
    assert _upload(staff, cid, b"%PDF-1.4 truncated", "letter.pdf").status_code == 302
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    assert _upload(staff, cid, gif.getvalue(), "anim.gif").status_code == 302
    app.config["ATTACHMENT_MAX_MB"] = 0
    assert _upload(staff, cid, _photo_with_location(), "big.jpg").status_code == 302
    app.config["ATTACHMENT_MAX_MB"] = 10
    assert _attachments(app, cid) == []
    page = staff.get(f"/complaints/{cid}")
    assert page.status_code == 200


def test_a_pdf_is_downloaded_not_shown_and_read_only_roles_cannot_attach(app, world, login_as):
    cid = world.complaints["a"]
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    assert _upload(login_as("viewer"), cid, pdf, "letter.pdf").status_code == 403
    assert _upload(login_as("manager_a"), cid, pdf, "letter.pdf").status_code == 302
    (item,) = _attachments(app, cid)
    served = login_as("viewer").get(f"/complaints/attachments/{item.id}")
    assert served.status_code == 200 and served.headers["Content-Disposition"].startswith("attachment")
    served.close()


def test_anonymising_the_customer_deletes_the_files(app, world, login_as):
    cid = world.complaints["a"]
    assert _upload(login_as("staff_a"), cid, _photo_with_location(), "p.jpg").status_code == 302
    (item,) = _attachments(app, cid)
    from pathlib import Path

    path = Path(app.config["ATTACHMENT_DIR"]) / item.stored_as
    assert path.is_file()
    with app.app_context(), unscoped():
        from app.models import Customer, User
        from app.services import customers

        customers.anonymise(db.session.get(Customer, world.customers["a"]), "deletion",
                            db.session.get(User, world.users["owner_a"]))
        db.session.commit()
    assert not path.exists() and _attachments(app, cid) == []
