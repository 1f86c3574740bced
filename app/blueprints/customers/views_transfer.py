"""Customer import (background, all or nothing) and export of the filtered list."""
import csv
import io
import tempfile

from flask import Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import format_number, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import spreadsheets
from app.blueprints.common import count_of, page_of
from app.blueprints.customers import bp
from app.blueprints.customers.forms import ImportForm, scoped_store
from app.blueprints.customers.listing import Filters, customer_query
from app.blueprints.customers.views_customers import scoped_stores
from app.extensions import db
from app.forms import EmptyForm
from app.i18n import translated
from app.models import Customer, CustomerImport, Store
from app.models.base import utcnow, local_today
from app.models.customer import CATEGORIES
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404
from app.services import audit
from app.services import customer_analytics as analytics
from app.services import customer_import as importer
from app.services.customer_fields import mask_email, mask_mobile


@bp.route("/imports")
@access("customers.import")
def imports():
    """Uploaded customer files and how each one went."""
    return _imports_page(ImportForm(stores=scoped_stores()))


def _imports_page(form, status: int = 200):
    stmt = select(CustomerImport).order_by(CustomerImport.created_at.desc(), CustomerImport.id.desc())
    return render_template("customers/imports.html", form=form, page=page_of(stmt)), status


@bp.route("/imports", methods=["POST"])
@access("customers.import")
def upload():
    """Receive a file; it is checked in the background before anything is written."""
    form = ImportForm(stores=scoped_stores())
    if form.validate_on_submit():
        store = scoped_store(form.store_id)
        if store is None:
            form.store_id.errors.append(_("Choose one of your stores."))
        else:
            try:
                job = importer.accept_upload(form.file.data, store, current_user)
            except importer.ImportFileError as error:
                db.session.rollback()
                form.file.errors.append(str(error))
            else:
                db.session.commit()
                importer.start(job)
                return redirect(url_for("customers.import_status", customer_import_id=job.id))
    return _imports_page(form, 400)


@bp.route("/imports/<int:customer_import_id>")
@access("customers.import")
def import_status(customer_import_id: int):
    """Progress, errors per row, and the button that commits a checked file."""
    job = get_scoped_or_404(CustomerImport, customer_import_id)
    return render_template("customers/import_status.html", job=job, progress=importer.read_progress(job),
                           commit_form=EmptyForm(), stalled=importer.stalled(job),
                           ahead=importer.place_in_line(job) if job.queued_at else 0)


@bp.route("/imports/<int:customer_import_id>/commit", methods=["POST"])
@access("customers.import")
def import_commit(customer_import_id: int):
    """Import a file that passed every check, all rows or none."""
    job = get_scoped_or_404(CustomerImport, customer_import_id)
    if EmptyForm().validate_on_submit():
        if job.files_deleted_at is not None:
            flash(_("The file was deleted after the retention period; upload it again."), "warning")
        elif job.state != "ready" or job.created_by_id != current_user.id:
            flash(_("Only a file you uploaded that passed every check can be imported."), "warning")
        else:
            job.state = "importing"
            db.session.commit()
            importer.begin_step(job)
    return redirect(url_for("customers.import_status", customer_import_id=job.id))


@bp.route("/imports/<int:customer_import_id>/retry", methods=["POST"])
@access("customers.import")
def import_retry(customer_import_id: int):
    """Run again the step of an import whose process died (no progress for a while)."""
    job = get_scoped_or_404(CustomerImport, customer_import_id)
    if EmptyForm().validate_on_submit():
        if importer.stalled(job) and job.created_by_id == current_user.id:
            importer.begin_step(job)
            flash(_("The import was started again."), "info")
        else:
            flash(_("This import is not stuck; it was left as it is."), "info")
    return redirect(url_for("customers.import_status", customer_import_id=job.id))


@bp.route("/imports/<int:customer_import_id>/errors.csv")
@access("customers.import")
def import_errors(customer_import_id: int):
    """Every problem found in the file, one line per row and column."""
    job = get_scoped_or_404(CustomerImport, customer_import_id)
    if not importer.errors_path(job).exists():
        flash(_("This file has no error report."), "info")
        return redirect(url_for("customers.import_status", customer_import_id=job.id))
    rows = importer.problem_report_rows(job)  # in the reader's language

    def stream():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        yield "\ufeff"  # Excel reads UTF-8 with the mark
        for row in rows:
            writer.writerow(row)
            if buffer.tell() > 1 << 16:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(stream()), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=import-{job.id}-errors.csv"})


@bp.route("/imports/template.csv")
@access("customers.import")
def import_template():
    """A CSV with the column headers the import understands, and one example row."""
    return Response(importer.template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=customers-template.csv"})


EXPORT_MAX_ROWS = 100_000


def _export_rows(f: Filters):
    today = local_today()
    full = can(current_user, "customers.contact_details")
    locale = str(get_locale())
    header = [_("Code"), _("Name"), _("Store"), _("Category"), _("Grade"), _("Membership tier"), _("Points"),
              _("Mobile phone"), _("E-mail"), _("Purchases"), _("Total spend"), _("Last purchase"),
              _("Lifetime value"), _("Consent")]
    yield header
    # Plain columns, no ORM objects (hydrating them was most of the time), and labels looked
    # up once rather than once a row.
    categories = translated(CATEGORIES)
    yes, no, anonymised = _("Yes"), _("No"), _("Anonymised customer")
    tiers = {t.id: t.label(locale) for t in analytics.tier_options()}
    store_codes = dict(db.session.execute(select(Store.id, Store.code)).all())
    columns = (Customer.code, Customer.name, Customer.anonymised_at, Customer.store_id, Customer.category,
               Customer.grade, Customer.tier_id, Customer.points, Customer.mobile, Customer.email,
               Customer.purchase_count, Customer.total_spend, Customer.last_purchase_on, Customer.clv, Customer.consent)
    stmt = customer_query(f, today, search_phone=full, columns=columns).order_by(*f.ordering.order_by())
    for (code, name, anonymised_at, store_id, category, grade, tier_id, points, mobile, email, purchases, spend,
         last_purchase, clv, consent) in db.session.execute(stmt.execution_options(yield_per=1000)):
        yield [
            code, anonymised if anonymised_at else name, store_codes.get(store_id, ""), categories[category], grade,
            tiers.get(tier_id, ""), points, mobile if full else mask_mobile(mobile),
            email if full else mask_email(email), purchases, float(spend),
            last_purchase.isoformat() if last_purchase else "", float(clv), yes if consent else no,
        ]


@bp.route("/export.<fmt>")
@access("customers.export")
def export(fmt: str):
    """The current filtered list as CSV or Excel; recorded in the audit trail."""
    if fmt not in ("csv", "xlsx"):
        return redirect(url_for("customers.index", **request.args))
    f = Filters.from_args(request.args)
    full = can(current_user, "customers.contact_details")
    too_many = customer_query(f, local_today(), search_phone=full, columns=[Customer.id])
    if count_of(too_many.limit(EXPORT_MAX_ROWS + 1)) > EXPORT_MAX_ROWS:
        flash(_("More than %(max)s customers match: choose a store or another filter, then export again.",
                max=format_number(EXPORT_MAX_ROWS)), "warning")
        return redirect(url_for("customers.index", **f.args()))
    spool = tempfile.TemporaryFile()
    count = -1
    if fmt == "csv":
        with open(spool.fileno(), "w", encoding="utf-8-sig", newline="", closefd=False) as text:
            writer = csv.writer(text)
            for row in _export_rows(f):
                writer.writerow([spreadsheets.csv_cell(v) for v in row])
                count += 1
    else:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(_("Customers"))
        for row in _export_rows(f):
            sheet.append(spreadsheets.xlsx_row(sheet, row))
            count += 1
        book.save(spool)
    spool.seek(0)
    audit.record_read("customers.exported", actor=current_user,
                      details={"format": fmt, "rows": count, "filters": f.args()})
    mimetype = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def stream():
        with spool:  # the spooled file is closed when the download ends
            while chunk := spool.read(1 << 16):
                yield chunk

    return Response(stream(), mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=customers-{utcnow():%Y%m%d-%H%M}.{fmt}"})
