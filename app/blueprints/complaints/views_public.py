"""The store's public complaint page, seen from the portal: its link and QR code to print."""
from flask import Response, abort, render_template, url_for

from app.blueprints.complaints import bp
from app.models import Store
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services.complaints import public


@bp.route("/stores/<int:store_id>/public-page")
@access("complaints.intake")
def public_page(store_id: int):
    """The store's public complaint page: the link and its QR code, for the poster in the store."""
    store = get_scoped_or_404(Store, store_id)
    key = store.public_key
    url = url_for("feedback.form", public_key=key, _external=True)
    return render_template("complaints/public_page.html", store=store, url=url, qr=public.qr_inline_svg(url))


@bp.route("/stores/<int:store_id>/qr.<fmt>")
@access("complaints.intake")
def public_qr(store_id: int, fmt: str):
    """The QR code as an SVG (for print shops) or a PNG."""
    if fmt not in ("svg", "png"):
        abort(404)
    store = get_scoped_or_404(Store, store_id)
    key = store.public_key
    url = url_for("feedback.form", public_key=key, _external=True)
    body = public.qr_code(url, fmt)
    return Response(body, mimetype="image/svg+xml" if fmt == "svg" else "image/png",
                    headers={"Content-Disposition": f'attachment; filename="complaints-{store.code}.{fmt}"'})
