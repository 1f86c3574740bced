"""The master file's analysis section and loyalty measures (seed 001; R7, R14, R16)."""
from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.common import create_once
from app.blueprints.customers import bp
from app.blueprints.customers.forms import AnalysisForm, LoyaltyForm
from app.models import Customer
from app.models.customer_file import ANALYSIS_TOPICS, LOYALTY_LEVELS, LOYALTY_MEASURES
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404
from app.services import customer_analytics as analytics
from app.services import customer_file


def _file_page(customer: Customer, form, add, saved: str, template: str, context):
    """A page of the file with its list and, for staff who may edit it, a create form: ``add()``
    makes the record once (Back then Save lands on it), the page shows again with problems."""
    status = 200
    if form.is_submitted():
        if not can(current_user, "customers.edit") or customer.is_anonymised or customer.merged_into_id:
            abort(403)
        if form.validate():
            done = create_once(form, add, lambda _record: request.path, saved)
            if done:
                return done
        status = 400
    return render_template(template, customer=customer, form=form, **context()), status


@bp.route("/<int:customer_id>/analysis", methods=["GET", "POST"])
@access("customers.view")
def analysis(customer_id: int):
    """The analysis section as a dated history (the credit history is its credit notes); staff who
    may edit the file add a note below it."""
    customer = get_scoped_or_404(Customer, customer_id)
    form = AnalysisForm()
    return _file_page(customer, form, lambda: customer_file.add_analysis(customer, form.data_for_model(), current_user),
                      _("Note added to the analysis section."), "customers/analysis.html",
                      lambda: {"notes": customer_file.analysis_history(customer.id), "topics": ANALYSIS_TOPICS})


@bp.route("/<int:customer_id>/loyalty", methods=["GET", "POST"])
@access("customers.view")
def loyalty(customer_id: int):
    """The seven loyalty measures (R16): the latest assessment, its history, and a new one."""
    customer = get_scoped_or_404(Customer, customer_id)
    form = LoyaltyForm()

    def context():
        history = customer_file.assessments(customer.id)
        return {"history": history, "measures": customer_file.measures_of(customer, history[0] if history else None),
                "measure_labels": LOYALTY_MEASURES, "levels": LOYALTY_LEVELS,
                "score_of": lambda a: analytics.loyalty_score(a.observed_total, customer.purchase_count)}

    return _file_page(customer, form, lambda: customer_file.assess_loyalty(customer, form.data_for_model(), current_user),
                      _("Loyalty assessment saved."), "customers/loyalty.html", context)
