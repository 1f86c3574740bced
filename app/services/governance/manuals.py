"""The franchise manual library (R5, R65; seed 001): versions, numbered copies, the register.

- A manual is written in versions; only a published version is in force, and a published
  version is never changed: a change is a new draft, published in its turn (the one before is
  then superseded). Holders are asked to acknowledge each new version.
- Each copy gets a serial number (列号) of its own, ``<manual code>-<0001>``, taken from the
  manual's counter with a conditional UPDATE (two copies issued at once never share one) and
  unique over the library: a number is never reused, not even for the reissue of a lost copy.
- A copy is held by a named person: a franchise owner or store manager of the franchisee (the
  "approved users" of R5), or someone at headquarters. The holder acknowledges receipt and each
  version; the holder or the owner reports a loss at once; headquarters records a return (and
  every copy of a franchisee that leaves) and reissues a lost copy under a new number.
- Every step is a line of the lending register (``ManualCopyEvent``), downloads included.
"""
from sqlalchemy import func, select, update
from sqlalchemy.orm import contains_eager

from flask_babel import gettext as _

from app.extensions import db
from app.models import Franchisee, User
from app.models.base import utcnow
from app.models.governance import CLOSING_STATES, Manual, ManualCopy, ManualCopyEvent, ManualVersion
from app.services import RuleError, audit

HOLDER_ROLES = ("franchise_owner", "store_manager")
HQ_HOLDER_ROLES = ("hq_admin", "hq_auditor", "hq_supervisor")
LOSSES = ("lost", "stolen", "damaged")


def _log(copy: ManualCopy, kind: str, user, number: int | None = None, note: str | None = None) -> None:
    db.session.add(ManualCopyEvent(copy_id=copy.id, franchisee_id=copy.franchisee_id,
                                   holder_user_id=copy.holder_user_id, kind=kind, number=number,
                                   by_id=user.id if user is not None else None, note=note))


# --- manuals and their versions ---------------------------------------------------------------

def create_manual(data: dict, user) -> Manual:
    """A new manual with its first version as a draft."""
    manual = Manual(code=data["code"].strip().upper(), title_zh=data["title_zh"].strip(),
                    title_en=data["title_en"].strip(), kind=data["kind"], created_by_id=user.id)
    db.session.add(manual)
    db.session.flush()
    db.session.add(ManualVersion(manual_id=manual.id, number=1, status="draft", summary=data.get("summary"),
                                 body_zh=data["body_zh"], body_en=data.get("body_en") or None, created_by_id=user.id))
    db.session.flush()
    audit.record("manual.created", actor=user, target=manual)
    return manual


def draft_of(manual: Manual) -> ManualVersion | None:
    return db.session.scalar(select(ManualVersion).where(ManualVersion.manual_id == manual.id,
                                                         ManualVersion.status == "draft"))


def in_force(manual: Manual) -> ManualVersion | None:
    if manual.current_number is None:
        return None
    return db.session.scalar(select(ManualVersion).where(ManualVersion.manual_id == manual.id,
                                                         ManualVersion.number == manual.current_number))


def new_draft(manual: Manual, user) -> ManualVersion:
    """A new draft, starting from the text in force; at most one draft at a time."""
    if draft_of(manual) is not None:
        raise RuleError(_("This manual already has a draft: edit that one."))
    base = in_force(manual)
    number = (db.session.scalar(select(func.max(ManualVersion.number)).where(ManualVersion.manual_id == manual.id))
              or 0) + 1
    version = ManualVersion(manual_id=manual.id, number=number, status="draft", body_zh=base.body_zh if base else "",
                            body_en=base.body_en if base else None, created_by_id=user.id)
    db.session.add(version)
    db.session.flush()
    return version


def edit_draft(version: ManualVersion, data: dict) -> None:
    if version.status != "draft":
        raise RuleError(_("A version in force (or superseded) is never changed: start a new version instead."))
    version.summary = data.get("summary") or None
    version.body_zh = data["body_zh"]
    version.body_en = data.get("body_en") or None


def publish(version: ManualVersion, user, *, approved: bool = False) -> int:
    """Put a draft in force; the version before is superseded. Returns how many copies' holders
    are asked to acknowledge it. A policy takes effect only when the committee approves it
    (``approved``: called by the approval, services/approvals.py)."""
    if version.status != "draft":
        raise RuleError(_("Only a draft can be published."))
    if version.manual.kind == "policy" and not approved:
        raise RuleError(_("A policy takes effect when the customer-experience committee approves it: put it "
                          "forward for approval."))
    if not (version.body_zh or "").strip():
        raise RuleError(_("The Chinese text is empty: write the manual before publishing it."))
    manual = version.manual
    if not manual.active:
        raise RuleError(_("This manual is withdrawn: nothing of it is published any more."))
    moved = db.session.execute(update(ManualVersion).where(
        ManualVersion.id == version.id, ManualVersion.status == "draft").values(
        status="published", published_at=utcnow(), published_by_id=user.id).execution_options(
        synchronize_session=False)).rowcount
    if moved != 1:
        raise RuleError(_("Someone else published or changed this draft meanwhile: look at the manual again."))
    db.session.execute(update(ManualVersion).where(
        ManualVersion.manual_id == manual.id, ManualVersion.status == "published", ManualVersion.id != version.id)
        .values(status="superseded"))
    manual.current_number = version.number
    db.session.flush()
    db.session.refresh(version)
    audit.record("manual.published", actor=user, target=manual, details={"code": f"v{version.number}"})
    return db.session.scalar(select(func.count()).select_from(ManualCopy).where(
        ManualCopy.manual_id == manual.id, ManualCopy.status == "held")) or 0


# --- copies -----------------------------------------------------------------------------------

def _next_serial(manual: Manual) -> str:
    number = db.session.execute(update(Manual).where(Manual.id == manual.id).values(
        last_serial=Manual.last_serial + 1).returning(Manual.last_serial).execution_options(
        synchronize_session=False)).scalar_one()
    return f"{manual.code}-{number:04d}"


def issue(manual: Manual, holder: User, user, *, note: str | None = None, replaces: ManualCopy | None = None) -> ManualCopy:
    """Hand a numbered copy of ``manual`` to ``holder``: a franchise owner or store manager of an
    active franchisee, or a headquarters user."""
    if not manual.active:
        raise RuleError(_("This manual is withdrawn: no copy of it is issued any more."))
    if manual.current_number is None:
        raise RuleError(_("This manual has no version in force yet: publish one before issuing copies."))
    if not holder.active:
        raise RuleError(_("This account is deactivated: choose a holder who works with the portal."))
    if holder.franchisee_id is not None:
        if holder.role not in HOLDER_ROLES:
            raise RuleError(_("Only a franchise owner or a store manager may hold a copy of the manual (R5)."))
        franchisee = db.session.get(Franchisee, holder.franchisee_id)
        if franchisee.status == "terminated":
            raise RuleError(_("This franchisee has left the network: it receives no copy."))
    elif holder.role not in HQ_HOLDER_ROLES:
        raise RuleError(_("Only headquarters' staff and franchisees' owners and store managers may hold a copy."))
    if replaces is None and db.session.scalar(select(ManualCopy.id).where(
            ManualCopy.manual_id == manual.id, ManualCopy.holder_user_id == holder.id,
            ManualCopy.status == "held").limit(1)) is not None:
        raise RuleError(_("%(name)s already holds a copy of this manual.", name=holder.display_name))
    copy = ManualCopy(manual_id=manual.id, serial=_next_serial(manual), holder_name=holder.display_name,
                      holder_user_id=holder.id, franchisee_id=holder.franchisee_id,
                      department=holder.department, issued_by_id=user.id,
                      replaces_id=replaces.id if replaces is not None else None)
    db.session.add(copy)
    db.session.flush()
    _log(copy, "issued", user, manual.current_number, note)
    audit.record("manual.copy_issued", actor=user, target=manual, details={"code": copy.serial})
    return copy


def acknowledge(copy: ManualCopy, user) -> int:
    """The holder confirms they received the copy and read the version in force. Returns that
    version's number."""
    if copy.holder_user_id != user.id:
        raise RuleError(_("Only the holder of a copy acknowledges it: %(name)s.", name=copy.holder_name))
    if copy.status != "held":
        raise RuleError(_("This copy is no longer held (%(state)s): there is nothing to acknowledge.",
                          state=copy.status_label))
    number = copy.manual.current_number
    if copy.acknowledged_number == number:
        raise RuleError(_("You already acknowledged version %(number)d.", number=number))
    now = utcnow()
    if copy.received_at is None:
        copy.received_at = now
        _log(copy, "received", user, number)
    copy.acknowledged_number, copy.acknowledged_at = number, now
    _log(copy, "acknowledged", user, number)
    db.session.flush()
    return number


def close(copy: ManualCopy, state: str, note: str | None, user) -> None:
    """A copy reported lost, stolen or damaged (by its holder, the owner or headquarters), or
    returned to headquarters (recorded by headquarters)."""
    if state not in CLOSING_STATES:
        raise RuleError(_("Choose what happened to the copy."))
    if state == "returned" and not user.is_hq:
        raise RuleError(_("Headquarters records a returned copy when it has it back."))
    if state in LOSSES and not (note or "").strip():
        raise RuleError(_("Say what happened (where and when the copy was lost, stolen or damaged)."))
    moved = db.session.execute(update(ManualCopy).where(ManualCopy.id == copy.id, ManualCopy.status == "held").values(
        status=state, closed_at=utcnow(), closed_note=note or None, version=ManualCopy.version + 1)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise RuleError(_("This copy is no longer held: someone recorded it meanwhile."))
    db.session.refresh(copy)
    _log(copy, state, user, None, note)
    audit.record(f"manual.copy_{state}", actor=user, target=copy.manual, details={"code": copy.serial})


def reissue(copy: ManualCopy, user) -> ManualCopy:
    """A lost, stolen or damaged copy replaced by a new one under a new number, to the same holder."""
    if copy.status not in LOSSES:
        raise RuleError(_("Only a copy reported lost, stolen or damaged is reissued."))
    if copy.replaced_by_id is not None:
        raise RuleError(_("This copy was already reissued."))
    if copy.holder is None:
        raise RuleError(_("The holder's account no longer exists: issue a new copy to someone else."))
    new = issue(copy.manual, copy.holder, user, note=_("Replaces %(serial)s", serial=copy.serial), replaces=copy)
    copy.replaced_by_id = new.id
    _log(copy, "reissued", user, None, new.serial)
    db.session.flush()
    return new


def return_all(franchisee: Franchisee, note: str | None, user) -> int:
    """Every copy a franchisee still holds, recorded as returned (the franchisee left)."""
    copies = db.session.scalars(select(ManualCopy).where(ManualCopy.franchisee_id == franchisee.id,
                                                         ManualCopy.status == "held")).all()
    for copy in copies:
        close(copy, "returned", note or _("Returned when the franchisee left the network"), user)
    return len(copies)


def record_download(copy: ManualCopy, user, number: int) -> None:
    _log(copy, "downloaded", user, number)


def may_download(copy: ManualCopy, user) -> bool:
    """The holder downloads their copy; the franchise owner the copies of the franchisee's people;
    headquarters' administrator any copy held (to see what the holder sees)."""
    if copy.status != "held":
        return False
    if copy.holder_user_id == user.id or user.role == "hq_admin":
        return True
    return user.role == "franchise_owner" and copy.franchisee_id == user.franchisee_id


def may_report_loss(copy: ManualCopy, user) -> bool:
    if copy.status != "held":
        return False
    return (copy.holder_user_id == user.id or user.role in ("hq_admin", "hq_auditor")
            or (user.role == "franchise_owner" and copy.franchisee_id == user.franchisee_id))


def waiting_for(user) -> list[ManualCopy]:
    """The copies ``user`` holds whose version in force they have not acknowledged yet."""
    return db.session.scalars(select(ManualCopy).join(Manual, Manual.id == ManualCopy.manual_id).where(
        ManualCopy.holder_user_id == user.id, ManualCopy.status == "held",
        (ManualCopy.acknowledged_number.is_(None)) | (ManualCopy.acknowledged_number != Manual.current_number))
        .options(contains_eager(ManualCopy.manual)).order_by(ManualCopy.id)).all()


def left_with_copies() -> list[tuple[Franchisee, int]]:
    """Franchisees that left the network and still hold copies: headquarters must get them back."""
    rows = db.session.execute(select(Franchisee, func.count(ManualCopy.id)).join(
        ManualCopy, ManualCopy.franchisee_id == Franchisee.id).where(
        Franchisee.status == "terminated", ManualCopy.status == "held").group_by(Franchisee.id)).all()
    return [(f, n) for f, n in rows]


def holders_for(franchisee_id: int | None) -> list[User]:
    """Who may receive a copy: a franchisee's owners and store managers, or headquarters' staff."""
    stmt = select(User).where(User.active.is_(True))
    if franchisee_id is None:
        stmt = stmt.where(User.franchisee_id.is_(None), User.role.in_(HQ_HOLDER_ROLES))
    else:
        stmt = stmt.where(User.franchisee_id == franchisee_id, User.role.in_(HOLDER_ROLES))
    return db.session.scalars(stmt.order_by(User.display_name)).all()
