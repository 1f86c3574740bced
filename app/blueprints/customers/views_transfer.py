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
from app.models.base import local_date, local_today, utcnow
from app.models.customer import CATEGORIES, CONSENT_METHODS, CUSTOMER_TYPES, GENDERS, RELATIONSHIPS, SOURCES
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
                job = importer.accept_upload(form.file.data, store, current_user, form.existing.data, form.kind.data)
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
                           import_column=importer.column_label,
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
        elif job.created_by_id == current_user.id and job.state in ("importing", "done"):
            # A second tab, or Back and confirm again: the first confirmation is at work.
            flash(_("This file is already being imported (or was imported); it is imported once."), "info")
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
    return _csv_download(importer.problem_report_rows(job), f"import-{job.id}-errors.csv")  # reader's language


@bp.route("/imports/<int:customer_import_id>/rows.csv")
@access("customers.import")
def import_rows_report(customer_import_id: int):
    """What became of every row of an import: created (with its code), updated or skipped."""
    job = get_scoped_or_404(CustomerImport, customer_import_id)
    if job.state != "done" or not importer.rows_path(job).exists():
        flash(_("This import has no row report."), "info")
        return redirect(url_for("customers.import_status", customer_import_id=job.id))
    return _csv_download(importer.row_report_rows(job), f"import-{job.id}-rows.csv")


def _csv_download(rows, filename: str) -> Response:
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
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.route("/imports/template.csv")
@access("customers.import")
def import_template():
    """A CSV with the column headers the import understands, and one example row."""
    return Response(importer.template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=customers-template.csv"})


@bp.route("/imports/purchases-template.csv")
@access("customers.import")
def purchase_import_template():
    """A CSV with the columns of a purchase-history import, and two example rows."""
    from app.services import purchase_import

    return Response(purchase_import.template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=purchases-template.csv"})


EXPORT_MAX_ROWS = 100_000


def _export_rows(f: Filters, csv_dates: bool):
    """The import's columns first (headed in the reader's language, both accepted by the import),
    so an exported file imports again; then the figures, which the import ignores. Dates are
    dates (ISO text in CSV); contact details are masked for readers who may not see them."""
    today = local_today()
    full = can(current_user, "customers.contact_details")
    locale = str(get_locale())
    english = locale.startswith("en")
    figures = [_("Province"), _("City"), _("District"), _("Category"), _("Grade"), _("Membership tier"),
               _("Purchases"), _("Total spend"), _("Last purchase"), _("Lifetime value"), _("Loyalty score")]
    yield [en if english else zh for _key, zh, en in importer.EXPORT_COLUMNS] + figures
    # Plain columns, no ORM objects (hydrating them was most of the time), and labels looked
    # up once rather than once a row.
    labels = {name: translated(choices) for name, choices in (
        ("gender", GENDERS), ("customer_type", CUSTOMER_TYPES), ("source", SOURCES),
        ("relationship_type", RELATIONSHIPS), ("consent_method", CONSENT_METHODS), ("category", CATEGORIES))}
    yes, no, anonymised = _("Yes"), _("No"), _("Anonymised customer")
    tiers = {t.id: t.label(locale) for t in analytics.tier_options()}
    store_codes = dict(db.session.execute(select(Store.id, Store.code)).all())
    columns = [Customer.store_id, Customer.code, Customer.name, Customer.anonymised_at, Customer.gender,
               Customer.birthday, Customer.mobile, Customer.landline, Customer.email, Customer.address,
               Customer.postal_code, Customer.customer_type, Customer.source, Customer.relationship_type,
               Customer.occupation, Customer.interests, Customer.habits, Customer.tags, Customer.notes,
               Customer.consent, Customer.consent_at, Customer.consent_method, Customer.consent_purpose,
               Customer.points, Customer.commission_code, Customer.tax_no, Customer.credit_record,
               Customer.sales_limit, Customer.delivery_address, Customer.invoice_address,
               Customer.province, Customer.city, Customer.district, Customer.category, Customer.grade,
               Customer.tier_id, Customer.purchase_count, Customer.total_spend, Customer.last_purchase_on,
               Customer.clv, Customer.loyalty_score]
    stmt = customer_query(f, today, search_phone=full, columns=columns).order_by(*f.ordering.order_by())

    def day(value):
        if value is None:
            return ""
        return value.isoformat() if csv_dates else value

    def hidden(value):
        return value if full or not value else importer.MASKED

    for r in db.session.execute(stmt.execution_options(yield_per=1000)):
        yield [
            store_codes.get(r.store_id, ""), r.code, anonymised if r.anonymised_at else r.name,
            labels["gender"].get(r.gender, ""), day(r.birthday), r.mobile if full else mask_mobile(r.mobile),
            r.landline if full else mask_mobile(r.landline), r.email if full else mask_email(r.email),
            hidden(r.address), r.postal_code or "", labels["customer_type"].get(r.customer_type, ""),
            labels["source"].get(r.source, ""), labels["relationship_type"].get(r.relationship_type, ""),
            r.occupation or "", r.interests or "", r.habits or "", r.tags or "", r.notes or "",
            yes if r.consent else no, day(local_date(r.consent_at) if r.consent_at else None),
            labels["consent_method"].get(r.consent_method, "") if r.consent_method else "", r.consent_purpose or "",
            r.points, r.commission_code or "", r.tax_no or "", r.credit_record or "",
            float(r.sales_limit) if r.sales_limit is not None else "", hidden(r.delivery_address),
            hidden(r.invoice_address),
            r.province or "", r.city or "", r.district if full else "", labels["category"][r.category], r.grade,
            tiers.get(r.tier_id, ""), r.purchase_count, float(r.total_spend), day(r.last_purchase_on),
            float(r.clv), r.loyalty_score if r.loyalty_score is not None else "",
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
            for row in _export_rows(f, csv_dates=True):
                writer.writerow([spreadsheets.csv_cell(v) for v in row])
                count += 1
    else:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(_("Customers"))
        for row in _export_rows(f, csv_dates=False):
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
