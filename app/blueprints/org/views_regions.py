from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app.blueprints.common import create_once, save_versioned
from app.blueprints.org import bp
from app.blueprints.org.forms import NewRegionForm, RegionForm
from app.extensions import db
from app.models import Region, Store
from app.security.access import access
from app.services import org


@bp.route("/regions")
@access("org.manage")
def regions():
    """Regions and how many stores each groups."""
    counts = dict(db.session.execute(select(Store.region_id, func.count(Store.id)).group_by(Store.region_id)).all())
    regions = db.session.scalars(select(Region).order_by(Region.code)).all()
    return render_template("org/regions.html", regions=regions, counts=counts)


@bp.route("/regions/new", methods=["GET", "POST"])
@access("org.manage")
def new_region():
    """Create a region."""
    form = NewRegionForm(version=1)
    if form.validate_on_submit():
        if done := create_once(form, lambda: org.create_region(form.data_for_model(), current_user),
                               lambda region: url_for("org.regions"),
                               lambda region: _("Region %(name)s created.", name=region.name)):
            return done
    return render_template("org/region_form.html", form=form, region=None)


@bp.route("/regions/<int:region_id>/edit", methods=["GET", "POST"])
@access("org.manage")
def edit_region(region_id: int):
    """Rename a region."""
    region = db.first_or_404(select(Region).where(Region.id == region_id))
    form = RegionForm(obj=region)
    if form.validate_on_submit() and save_versioned(
        form, region, lambda: org.update_region(region, form.data_for_model(), current_user)
    ):
        flash(_("Changes saved."), "success")
        return redirect(url_for("org.regions"))
    return render_template("org/region_form.html", form=form, region=region)
