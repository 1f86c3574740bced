"""Who may see which tenant rows: one Scope per request, built from the signed-in user."""
from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.local import LocalProxy

from app.extensions import db
from app.models import Store
from app.models.user import STORE_ROLES, user_store

NETWORK_ROLES = ("hq_admin", "hq_auditor", "hq_viewer")


@dataclass(frozen=True)
class Scope:
    """The franchisees and stores a user may see; ``None`` means the whole network."""

    level: str
    franchisee_ids: frozenset[int] | None
    store_ids: frozenset[int] | None
    region_ids: frozenset[int] = frozenset()
    # Set for scopes narrower than a franchisee (stores, regions): of the records that may name
    # any store of a franchisee (an import file's rows), this user sees only their own.
    own_uploads_of: int | None = None
    # A headquarters department member's department: the complaints that tasks assign to it
    # reach them as record-level grants (app/security/tenancy.py), nothing else of any tenant.
    department: str | None = None
    # The public complaint page: one store, and at most the one complaint a progress link names.
    complaint_id: int | None = None
    # A mystery shopper: the audits assigned to this user (and the stores they visit) reach
    # them as record-level grants, nothing else of any tenant (issue 10).
    auditor_id: int | None = None
    # The public survey page: at most the one invitation a personal link names (issue 12).
    invitation_id: int | None = None

    @property
    def hides_unpublished(self) -> bool:
        """A franchisee's own people never see an audit before headquarters publishes it."""
        return self.level in ("franchisee", "stores")

    @property
    def is_public(self) -> bool:
        return self.level == "public"

    @property
    def is_network(self) -> bool:
        return self.store_ids is None

    def covers_store(self, store_id: int | None) -> bool:
        return self.is_network or store_id in self.store_ids

    def covers_franchisee(self, franchisee_id: int | None) -> bool:
        return self.franchisee_ids is None or franchisee_id in self.franchisee_ids


NOTHING = Scope("none", frozenset(), frozenset())


def public_scope(store_id: int, franchisee_id: int, complaint_id: int | None = None,
                 invitation_id: int | None = None) -> Scope:
    """The scope of an anonymous customer on a store's public page (issue 9) or survey page
    (issue 12)."""
    return Scope("public", frozenset({franchisee_id}), frozenset({store_id}), complaint_id=complaint_id,
                 invitation_id=invitation_id)
NETWORK = Scope("network", None, None)


def build_scope(user) -> Scope:
    """Compute a user's scope. Call it inside ``unscoped()``: it reads every store.

    - HQ admin, auditor and viewer: the whole network.
    - Regional supervisor: the stores of their regions and the franchisees owning them.
    - Franchise owner: the stores their franchisee owns now.
    - Store manager and staff: their assigned stores that their franchisee still owns,
      so a transferred store drops out of their scope by itself.
    - Department members and mystery shoppers: nothing by default; records reach
      them through the tasks and audits assigned to them.
    """
    if user is None or not user.is_authenticated:
        return NOTHING
    role = user.role
    if role in NETWORK_ROLES:
        return NETWORK
    if role == "hq_supervisor":
        region_ids = frozenset(r.id for r in user.regions)
        rows = db.session.execute(
            select(Store.id, Store.franchisee_id).where(Store.region_id.in_(region_ids))
        ).all()
        return Scope(
            "regions",
            frozenset(f for _, f in rows),
            frozenset(s for s, _ in rows),
            region_ids,
            own_uploads_of=user.id,
        )
    if role == "franchise_owner":
        store_ids = db.session.scalars(
            select(Store.id).where(Store.franchisee_id == user.franchisee_id)
        ).all()
        return Scope("franchisee", frozenset({user.franchisee_id}), frozenset(store_ids))
    if role in STORE_ROLES:
        store_ids = db.session.scalars(
            select(Store.id)
            .join(user_store, user_store.c.store_id == Store.id)
            .where(user_store.c.user_id == user.id, Store.franchisee_id == user.franchisee_id)
        ).all()
        return Scope("stores", frozenset({user.franchisee_id}), frozenset(store_ids), own_uploads_of=user.id)
    if role == "hq_department" and user.department:
        return Scope("department", frozenset(), frozenset(), department=user.department)
    if role == "mystery_shopper":
        return Scope("assigned", frozenset(), frozenset(), auditor_id=user.id)
    return Scope("assigned", frozenset(), frozenset())


def _get_current_scope() -> Scope:
    from app.security.tenancy import active_scope

    return active_scope()


current_scope: Scope = LocalProxy(_get_current_scope)  # type: ignore[assignment]
