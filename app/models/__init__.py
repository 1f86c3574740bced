"""All models, imported here so Alembic and the application see one metadata."""
from app.models.audit import AuditEvent
from app.models.org import Franchisee, Region, Store, StoreOwnership
from app.models.user import User, UserSession

__all__ = ["AuditEvent", "Franchisee", "Region", "Store", "StoreOwnership", "User", "UserSession"]
