"""Member events and customer clubs (issue 14; R70, R75; seed 003): invitations from the customer
list's filters to consenting customers, the sign-in sheet with walk-ins, feedback from those who
came, the event's review, and clubs with their members; each role's pages."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Customer, Store, User
from app.models.base import local_today
from app.models.event import EventGuest, MemberEvent
from app.services.loyalty import events
from app.services.loyalty.events import EventError
from tests.factories import make_customer
from tests.pages import form_on

TODAY = local_today()


def _event(actor, franchisee_id, store=None, **values):
    data = {"title": "会员日", "kind": "member_day", "theme": None, "starts_at": datetime(TODAY.year, TODAY.month,
                                                                                            TODAY.day, 6),
            "place": None, "store_id": store.id if store else None, "club_id": None, "description": None} | values
    return events.save_event(None, data, ["lottery", "gift"], franchisee_id, actor)


@pytest.fixture
def shop(ctx, world):
    store = db.session.get(Store, world.a_stores[0])
    owner = db.session.get(User, world.users["owner_a"])
    people = [make_customer(store, f"嘉宾{i}", consent=i != 2) for i in range(4)]
    return store, owner, people


def test_invitations_reach_consenting_customers_once_and_the_sheet_counts_who_came(shop, world):
    store, owner, people = shop
    event = _event(owner, world.a, store)
    chosen = select(Customer).where(Customer.id.in_([c.id for c in people]))
    assert events.preview(event, chosen) == (3, 1)
    assert events.invite(event, chosen, owner) == 3
    assert events.invite(event, chosen, owner) == 0
    guests = db.session.scalars(select(EventGuest).where(EventGuest.event_id == event.id)).all()
    listed = {g.id for g in guests}
    events.sign_in(event, listed, {guests[0].id}, owner)
    assert (event.invited, event.attended) == (3, 1)
    # Not invited (no consent), but came: signed in at the door.
    events.walk_in(event, people[2], owner)
    assert (event.invited, event.attended) == (3, 2)
    with pytest.raises(EventError):
        events.feedback(guests[1], 5, "好", owner)  # did not come
    events.feedback(guests[0], 4, "抽奖有趣", owner)
    assert events.ratings(event.id) == (1, 4.0)
    b_customer = db.session.get(Customer, world.customers["b"])
    with pytest.raises(EventError):
        events.walk_in(event, b_customer, owner)  # another franchisee's customer at A's event


def test_a_club_takes_consenting_members_once(shop, world):
    store, owner, people = shop
    club = events.save_club(None, {"name": "家居俱乐部", "description": None, "store_id": store.id, "active": True},
                            world.a, owner)
    chosen = select(Customer).where(Customer.id.in_([c.id for c in people]))
    assert events.join(club, chosen, owner, TODAY) == 3
    assert events.join(club, chosen, owner, TODAY) == 0
    assert club.members_count == 3


def test_the_event_pages_for_each_role(app, world, login_as):
    manager = login_as("manager_a")
    form = form_on(manager.get("/loyalty/events/new").text)
    created = manager.post("/loyalty/events/new", data=form | {
        "title": "元旦新品发布会", "kind": "launch", "starts_at": f"{TODAY}T10:00",
        "store_id": str(world.a_stores[0]), "activities": ["lottery", "talk"]})
    assert created.status_code == 302
    event_url = created.headers["Location"]
    event_id = int(event_url.rstrip("/").split("/")[-1])
    assert 'data-testid="issuing"' in manager.get(f"/customers/?event={event_id}&consent=yes").text
    preview = manager.get(f"/loyalty/events/{event_id}/invite?consent=yes")
    assert preview.status_code == 200 and "位同意接受联系的客户" in preview.text
    done = manager.post_form(f"/loyalty/events/{event_id}/invite?consent=yes", {"confirm": "y"}, follow_redirects=True)
    assert "已邀请" in done.text
    staff = login_as("staff_a")
    page = staff.get(event_url).text
    assert 'data-testid="guest-row"' in page
    guest_id = page.split('name="listed" value="')[1].split('"')[0]
    saved = staff.post_form(f"/loyalty/events/{event_id}/sheet", {"listed": guest_id, "came": guest_id},
                            follow_redirects=True)
    assert "签到表已保存" in saved.text
    wrong = staff.post_form(f"/loyalty/events/{event_id}/walk-in", {"code": "B01-乙方秘密顾客"})
    assert wrong.status_code == 422 and "您的客户中没有该编号" in wrong.text
    bad = staff.post_form(f"/loyalty/events/guests/{guest_id}/feedback", {"rating": "9", "feedback": "很好"})
    assert bad.status_code == 422 and "1 至 5" in bad.text and 'value="很好"' in bad.text
    assert staff.get("/loyalty/events/new").status_code == 403
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            assert db.session.get(MemberEvent, event_id).attended == 1
    english = login_as("owner_a")
    english.post_form("/language", {"lang": "en", "next": "/"})
    for url in ("/loyalty/events", event_url, "/loyalty/clubs", "/loyalty/clubs/new"):
        response = english.get(url)
        assert response.status_code == 200 and "Member events" in english.get("/loyalty/events").text, url


def test_invitations_reach_only_the_customers_of_the_users_scope(app, world, login_as):
    """Trial 21 (high): an owner's invitation to headquarters' event reached other franchisees'
    customers; a club's members likewise."""
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            admin = db.session.get(User, world.users["admin"])
            event = _event(admin, None)
            club = events.save_club(None, {"name": "总部俱乐部", "description": None, "store_id": None,
                                           "active": True}, None, admin)
            db.session.commit()
            event_id, club_id = event.id, club.id
    owner = login_as("owner_a")
    owner.post_form(f"/loyalty/events/{event_id}/invite?consent=yes", {"confirm": "y"})
    owner.post_form(f"/loyalty/clubs/{club_id}/join?consent=yes", {"confirm": "y"})
    with app.app_context():
        from app.models.event import ClubMember
        from app.security.tenancy import unscoped

        with unscoped():
            guests = set(db.session.scalars(select(EventGuest.customer_id).where(EventGuest.event_id == event_id)))
            members = set(db.session.scalars(select(ClubMember.customer_id).where(ClubMember.club_id == club_id)))
    assert world.customers["a"] in guests and world.customers["b"] not in guests
    assert world.customers["a"] in members and world.customers["b"] not in members
    # The figures are counted in the reader's scope: B sees none of A's guests, not even as a number.
    import re

    def invited(client):
        page = client.get(f"/loyalty/events/{event_id}").text
        figures = page[page.index('data-testid="event-figures"'):]
        return int(re.search(r'fs-5 fw-semibold">([\d,]+)<', figures).group(1).replace(",", ""))

    assert invited(owner) == len(guests) and invited(login_as("owner_b")) == 0
    club_page = login_as("owner_b").get(f"/loyalty/clubs/{club_id}").text
    assert "0 位会员" in club_page


def test_guests_sign_in_on_the_day_not_before(shop, world):
    """Trial 21: guests of an event three weeks ahead were ticked as having come."""
    store, owner, people = shop
    event = _event(owner, world.a, store, starts_at=datetime(TODAY.year, TODAY.month, TODAY.day, 6) + timedelta(days=21))
    events.invite(event, select(Customer).where(Customer.id == people[0].id), owner)
    guest = db.session.scalar(select(EventGuest).where(EventGuest.event_id == event.id))
    with pytest.raises(EventError):
        events.sign_in(event, {guest.id}, {guest.id}, owner)
    with pytest.raises(EventError):
        events.walk_in(event, people[1], owner)


def test_two_edits_of_an_event_keep_its_start_and_a_manager_leaves_other_stores_events_alone(app, world, login_as):
    """Trial 22 (high): a merged concurrent edit moved the start 8 hours back (the stored UTC time
    compared with the local one the form showed); a store manager's save moved another store's
    event to "no store"."""
    from tests.pages import form_on

    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            owner = db.session.get(User, world.users["owner_a"])
            here = _event(owner, world.a, db.session.get(Store, world.a_stores[0]), starts_at=datetime(2026, 12, 1, 7))
            there = _event(owner, world.a, db.session.get(Store, world.a_stores[1]))
            db.session.commit()
            here_id, there_id = here.id, there.id
    first, second = login_as("owner_a"), login_as("owner_a")
    url = f"/loyalty/events/{here_id}/edit"
    one, two = form_on(first.get(url).text), form_on(second.get(url).text)
    assert one["starts_at"] == "2026-12-01T15:00"  # 07:00 UTC shown in Shanghai
    assert first.post_form(url, one | {"theme": "圣诞"}).status_code == 302
    assert second.post_form(url, two | {"place": "二楼"}).status_code == 302
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            saved = db.session.get(MemberEvent, here_id)
            assert (saved.theme, saved.place, saved.starts_at) == ("圣诞", "二楼", datetime(2026, 12, 1, 7))
    manager = login_as("manager_a")
    assert manager.get(f"/loyalty/events/{there_id}/edit").status_code == 302  # not theirs: sent back
    assert "/edit" not in manager.get(f"/loyalty/events/{there_id}").text.split('data-testid="sign-in-sheet"')[0]
    manager.post_form(f"/loyalty/events/{there_id}/edit", {"title": "改", "kind": "member_day", "store_id": "0",
                                                           "club_id": "0", "starts_at": "2026-12-01T10:00",
                                                           "version": "1"})
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            kept = db.session.get(MemberEvent, there_id)
            assert (kept.store_id, kept.title) == (world.a_stores[1], "会员日")


def test_a_review_saved_meanwhile_is_not_overwritten(app, world, login_as):
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            event = _event(db.session.get(User, world.users["owner_a"]), world.a, None)
            db.session.commit()
            event_id = event.id
    first, second = login_as("owner_a"), login_as("owner_a")
    url = f"/loyalty/events/{event_id}/review"
    version = "1"
    assert first.post_form(url, {"review": "抽奖环节最受欢迎", "version": version}).status_code == 302
    clash = second.post_form(url, {"review": "场地太小", "version": version})
    assert clash.status_code == 409 and "抽奖环节最受欢迎" in clash.text and "场地太小" in clash.text
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            assert db.session.get(MemberEvent, event_id).review == "抽奖环节最受欢迎"


def test_a_store_club_takes_only_that_stores_customers(shop, world):
    """Trial 22: a store's club took 36 customers of another store."""
    store, owner, people = shop
    club = events.save_club(None, {"name": "一店会员俱乐部", "description": None, "store_id": store.id, "active": True},
                            world.a, owner)
    other = make_customer(db.session.get(Store, world.a_stores[1]), "二店顾客", consent=True)
    chosen = select(Customer).where(Customer.id.in_([c.id for c in people] + [other.id]))
    assert events.join_preview(club, chosen) == 3 and events.silent_of(chosen) == 1
    events.join(club, chosen, owner, TODAY)
    from app.models.event import ClubMember

    members = set(db.session.scalars(select(ClubMember.customer_id).where(ClubMember.club_id == club.id)))
    assert other.id not in members and len(members) == 3
