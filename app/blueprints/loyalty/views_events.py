"""Member events with invitations, sign-in sheets and feedback, and customer clubs (R70, R75)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import to_utc
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.blueprints.common import commit_or_explain, create_once, keyset_of, save_versioned
from app.blueprints.customers.listing import Filters, customer_query
from app.blueprints.customers.views_customers import scoped_stores
from app.blueprints.loyalty import bp
from app.blueprints.loyalty.forms_events import (
    ClubForm, EventForm, EventReviewForm, FeedbackForm, InviteForm, NewClubForm, NewEventForm, WalkInForm,
)
from app.blueprints.loyalty.views_offers import FILTER_ARGS
from app.extensions import db
from app.forms import EmptyForm
from app.models import Customer
from app.models.base import local_today
from app.models.event import Club, ClubMember, EventGuest, MemberEvent
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.scope import current_scope
from app.security.tenancy import get_scoped_or_404
from sqlalchemy.orm.exc import StaleDataError
from app.services.loyalty import events

LATEST = Ordering((MemberEvent.starts_at, MemberEvent.id), descending=True)
GUESTS = Ordering((EventGuest.id,))
MEMBERS = Ordering((ClubMember.id,))


def _clubs():
    return db.session.scalars(select(Club).where(Club.active.is_(True)).order_by(Club.name)).all()


def _stored(form) -> dict:
    """The form's data with the start typed in the portal's zone, as stored (naive UTC)."""
    return form.data | {"starts_at": to_utc(form.starts_at.data).replace(tzinfo=None)}


def _mine(record) -> bool:
    """Whether the user organises ``record`` (an event or club): headquarters its own, a franchisee
    its own, and a store's manager only those of their stores or held elsewhere, never a colleague
    store's (trial 22: a manager's save moved another store's event to "no store")."""
    if current_user.franchisee_id:
        return record.franchisee_id == current_user.franchisee_id and (
            record.store_id is None or current_scope.covers_store(record.store_id))
    return record.franchisee_id is None


def _chosen():
    """The customers the list's filters (carried in the address) chose, in the user's scope."""
    args = {k: v for k, v in request.args.items() if k in FILTER_ARGS and v}
    chosen = customer_query(Filters.from_args(request.args), local_today(),
                            search_phone=can(current_user, "customers.contact_details"))
    return args, chosen


@bp.route("/events")
@access("loyalty.view")
def events_index():
    """Member events, the latest first: invited, came, and how it was rated."""
    page = keyset_of(select(MemberEvent).options(selectinload(MemberEvent.store), selectinload(MemberEvent.club)),
                     LATEST)
    return render_template("loyalty/events.html", page=page, clubs=_clubs(),
                           counts=events.counts([e.id for e in page.items]))


@bp.route("/events/new", methods=["GET", "POST"])
@access("loyalty.events")
def new_event():
    """Plan a member event: a member day, a holiday or launch event, a club meeting or a design session."""
    form = NewEventForm(version=1, stores=scoped_stores(), clubs=_clubs())
    if form.validate_on_submit() and (done := create_once(
            form, lambda: events.save_event(None, _stored(form), form.activities.data or [],
                                            current_user.franchisee_id, current_user),
            lambda e: url_for("loyalty.event", member_event_id=e.id), _("Event planned. Invite customers next."))):
        return done
    return render_template("loyalty/event_form.html", form=form, event=None), 422 if form.is_submitted() else 200


@bp.route("/events/<int:member_event_id>/edit", methods=["GET", "POST"])
@access("loyalty.events")
def edit_event(member_event_id: int):
    """Change an event's details."""
    found = get_scoped_or_404(MemberEvent, member_event_id)
    if not _mine(found):
        flash(_("Only who organises the event can change it."), "warning")
        return redirect(url_for("loyalty.event", member_event_id=found.id))
    clubs = _clubs()
    if found.club_id and found.club_id not in {c.id for c in clubs}:
        clubs = [*clubs, found.club]  # closed since: still the event's club
    form = EventForm(obj=found, stores=scoped_stores(), clubs=clubs)
    if form.validate_on_submit() and save_versioned(form, found, lambda: events.save_event(
            found, _stored(form), form.activities.data or [], found.franchisee_id, current_user)):
        flash(_("Changes saved."), "success")
        return redirect(url_for("loyalty.event", member_event_id=found.id))
    return render_template("loyalty/event_form.html", form=form, event=found), 422 if form.is_submitted() else 200


@bp.route("/events/<int:member_event_id>")
@access("loyalty.view")
def event(member_event_id: int):
    """An event: its sign-in sheet (your customers invited or who came), their feedback, its review."""
    found = get_scoped_or_404(MemberEvent, member_event_id, joinedload(MemberEvent.store), joinedload(MemberEvent.club))
    return _event_page(found)


def _event_page(found, walk_in=None, review=None, status=200):
    page = keyset_of(select(EventGuest).where(EventGuest.event_id == found.id)
                     .options(joinedload(EventGuest.customer)), GUESTS)
    if review is None:
        review = EventReviewForm(formdata=None, review=found.review, version=found.version)
    return render_template("loyalty/event.html", event=found, page=page, walk_in=walk_in or WalkInForm(formdata=None),
                           review=review, rated=events.ratings(found.id), mine=_mine(found), sheet=EmptyForm(),
                           counted=events.counts([found.id]).get(found.id, (0, 0)),
                           today=local_today()), status


@bp.route("/events/<int:member_event_id>/invite", methods=["GET", "POST"])
@access("loyalty.events")
def invite(member_event_id: int):
    """Invite the customers the list's filters chose (those who agreed to be contacted)."""
    found = get_scoped_or_404(MemberEvent, member_event_id)
    args, chosen = _chosen()
    form = InviteForm()
    if form.validate_on_submit() and commit_or_explain(
            lambda: events.invite(found, chosen, current_user),
            lambda made: _("%(n)s customers invited.", n=f"{made:,}")):
        return redirect(url_for("loyalty.event", member_event_id=found.id))
    eligible, silent = events.preview(found, chosen)
    return render_template("loyalty/invite.html", target=found, form=form, args=args, eligible=eligible, silent=silent,
                           cap=events.INVITE_CAP, action=url_for("loyalty.invite", member_event_id=found.id, **args),
                           back=url_for("customers.index", event=found.id, **args)), 422 if form.is_submitted() else 200


@bp.route("/events/<int:member_event_id>/sheet", methods=["POST"])
@access("loyalty.sign_in")
def sign_in(member_event_id: int):
    """Save the sign-in sheet: of the guests listed, those ticked came."""
    found = get_scoped_or_404(MemberEvent, member_event_id)
    listed = {int(v) for v in request.form.getlist("listed") if v.isdigit()}
    came = {int(v) for v in request.form.getlist("came") if v.isdigit()}
    # Only guests the user may see (their customers) are changed.
    visible = set(db.session.scalars(select(EventGuest.id).where(EventGuest.event_id == found.id,
                                                                 EventGuest.id.in_(listed)))) if listed else set()
    if EmptyForm().validate_on_submit() and commit_or_explain(
            lambda: events.sign_in(found, visible, came & visible, current_user), _("Sign-in sheet saved.")):
        return redirect(request.referrer or url_for("loyalty.event", member_event_id=found.id))
    return _event_page(found, status=422)


@bp.route("/events/<int:member_event_id>/walk-in", methods=["POST"])
@access("loyalty.sign_in")
def walk_in(member_event_id: int):
    """Sign in a customer who came without an invitation, by their code."""
    found = get_scoped_or_404(MemberEvent, member_event_id)
    form = WalkInForm()
    if form.validate_on_submit():
        customer = db.session.scalar(select(Customer).where(Customer.code == form.code.data.strip().upper()))
        if customer is None:
            form.code.errors.append(_("None of your customers has this code."))
        elif commit_or_explain(lambda: events.walk_in(found, customer, current_user),
                               _("%(name)s signed in.", name=customer.display_name)):
            return redirect(url_for("loyalty.event", member_event_id=found.id))
    return _event_page(found, walk_in=form, status=422)


@bp.route("/events/guests/<int:event_guest_id>/feedback", methods=["GET", "POST"])
@access("loyalty.sign_in")
def guest_feedback(event_guest_id: int):
    """Record what a guest who came thought of the event: a page of its own, so that on a phone
    the form opens where the user tapped, and a wrong rating keeps what was typed (trial 22)."""
    guest = get_scoped_or_404(EventGuest, event_guest_id, joinedload(EventGuest.customer))
    event = get_scoped_or_404(MemberEvent, guest.event_id)
    form = FeedbackForm(obj=guest)
    if form.validate_on_submit() and commit_or_explain(
            lambda: events.feedback(guest, form.rating.data, form.feedback.data, current_user), _("Feedback saved.")):
        return redirect(url_for("loyalty.event", member_event_id=guest.event_id) + f"#guest-{guest.id}")
    return render_template("loyalty/guest_feedback.html", form=form, guest=guest, event=event), \
        422 if form.is_submitted() else 200


@bp.route("/events/<int:member_event_id>/review", methods=["POST"])
@access("loyalty.events")
def event_review(member_event_id: int):
    """The event's review afterwards: what worked and what to improve."""
    found = get_scoped_or_404(MemberEvent, member_event_id)
    if not _mine(found):
        flash(_("Only who organises the event can change it."), "warning")
        return redirect(url_for("loyalty.event", member_event_id=found.id))
    form = EventReviewForm()
    if form.validate_on_submit():
        if form.version.data != found.version:
            # A colleague saved a review since this page was opened: theirs is shown, this user's
            # text stays in the box to merge by hand (trial 22: the second save replaced the first).
            flash(_("Someone else saved a review of this event while you were writing: theirs is shown above, "
                    "yours is still in the box. Combine them and save again."), "warning")
            form.version.data = found.version
            return _event_page(found, review=form, status=409)
        try:
            found.review = form.review.data.strip()
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            flash(_("Someone else saved a review of this event while you were writing: theirs is shown above, "
                    "yours is still in the box. Combine them and save again."), "warning")
            db.session.refresh(found)
            form.version.data = found.version
            return _event_page(found, review=form, status=409)
        flash(_("Saved."), "success")
        return redirect(url_for("loyalty.event", member_event_id=found.id))
    return _event_page(found, review=form, status=422)


# --- clubs --------------------------------------------------------------------------------------

@bp.route("/clubs")
@access("loyalty.view")
def clubs():
    """Customer clubs (客户俱乐部): headquarters' and the user's franchisee's."""
    found = db.session.scalars(select(Club).options(selectinload(Club.store))
                               .order_by(Club.active.desc(), Club.name)).all()
    return render_template("loyalty/clubs.html", clubs=found, members=events.members([c.id for c in found]))


@bp.route("/clubs/new", methods=["GET", "POST"])
@access("loyalty.events")
def new_club():
    """Start a customer club."""
    form = NewClubForm(version=1, stores=scoped_stores())
    if form.validate_on_submit() and (done := create_once(
            form, lambda: events.save_club(None, form.data, current_user.franchisee_id, current_user),
            lambda c: url_for("loyalty.club", club_id=c.id), _("Club started. Add members from the customer list."))):
        return done
    return render_template("loyalty/club_form.html", form=form, club=None), 422 if form.is_submitted() else 200


@bp.route("/clubs/<int:club_id>/edit", methods=["GET", "POST"])
@access("loyalty.events")
def edit_club(club_id: int):
    found = get_scoped_or_404(Club, club_id)
    if not _mine(found):
        flash(_("Only who runs the club can change it."), "warning")
        return redirect(url_for("loyalty.club", club_id=found.id))
    form = ClubForm(obj=found, stores=scoped_stores())
    if form.validate_on_submit() and save_versioned(form, found, lambda: events.save_club(
            found, form.data, found.franchisee_id, current_user)):
        flash(_("Changes saved."), "success")
        return redirect(url_for("loyalty.club", club_id=found.id))
    return render_template("loyalty/club_form.html", form=form, club=found), 422 if form.is_submitted() else 200


@bp.route("/clubs/<int:club_id>")
@access("loyalty.view")
def club(club_id: int):
    """A club: its members (yours), and its events."""
    found = get_scoped_or_404(Club, club_id, joinedload(Club.store))
    page = keyset_of(select(ClubMember).where(ClubMember.club_id == found.id)
                     .options(joinedload(ClubMember.customer)), MEMBERS)
    held = db.session.scalars(select(MemberEvent).where(MemberEvent.club_id == found.id)
                              .order_by(MemberEvent.starts_at.desc()).limit(20)).all()
    return render_template("loyalty/club.html", club=found, page=page, held=held, mine=_mine(found),
                           remove=EmptyForm(), members=events.members([found.id]).get(found.id, 0),
                           came=events.counts([e.id for e in held]))


@bp.route("/clubs/<int:club_id>/join", methods=["GET", "POST"])
@access("loyalty.events")
def join_club(club_id: int):
    """Add the customers the list's filters chose (who agreed to be contacted) to the club."""
    found = get_scoped_or_404(Club, club_id)
    args, chosen = _chosen()
    form = InviteForm()
    if form.validate_on_submit() and commit_or_explain(
            lambda: events.join(found, chosen, current_user, local_today()),
            lambda made: _("%(n)s customers joined the club.", n=f"{made:,}")):
        return redirect(url_for("loyalty.club", club_id=found.id))
    return render_template("loyalty/invite.html", target=found, form=form, args=args,
                           eligible=events.join_preview(found, chosen), silent=events.silent_of(chosen),
                           cap=events.INVITE_CAP, action=url_for("loyalty.join_club", club_id=found.id, **args),
                           back=url_for("customers.index", club=found.id, **args)), 422 if form.is_submitted() else 200


@bp.route("/clubs/members/<int:club_member_id>/remove", methods=["POST"])
@access("loyalty.events")
def remove_member(club_member_id: int):
    """Take a customer out of a club."""
    member = get_scoped_or_404(ClubMember, club_member_id)
    club_id = member.club_id
    if EmptyForm().validate_on_submit():
        events.leave(member, current_user)
        db.session.commit()
        flash(_("Removed from the club."), "success")
    return redirect(url_for("loyalty.club", club_id=club_id))
