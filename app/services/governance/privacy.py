"""The privacy policy (R61): versions in Chinese and English, edited by headquarters as drafts;
publishing one puts it in force (the version before is retired) and from then on every consent
recorded names it."""
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.extensions import db
from app.models.base import utcnow
from app.models.governance import PrivacyPolicy
from app.services import RuleError, audit


def in_force() -> PrivacyPolicy | None:
    return db.session.scalar(select(PrivacyPolicy).where(PrivacyPolicy.status == "published")
                             .order_by(PrivacyPolicy.number.desc()).limit(1))


def number_in_force() -> int | None:
    """The version a consent recorded now is given under (None before any is published)."""
    return db.session.scalar(select(func.max(PrivacyPolicy.number)).where(PrivacyPolicy.status == "published"))


def draft() -> PrivacyPolicy | None:
    return db.session.scalar(select(PrivacyPolicy).where(PrivacyPolicy.status == "draft"))


def new_draft(user) -> PrivacyPolicy:
    if draft() is not None:
        raise RuleError(_("There is already a draft of the privacy policy: edit that one."))
    base = in_force()
    number = (db.session.scalar(select(func.max(PrivacyPolicy.number))) or 0) + 1
    policy = PrivacyPolicy(number=number, status="draft", body_zh=base.body_zh if base else "",
                           body_en=base.body_en if base else "", created_by_id=user.id)
    db.session.add(policy)
    db.session.flush()
    return policy


def edit(policy: PrivacyPolicy, data: dict) -> None:
    if policy.status != "draft":
        raise RuleError(_("A version in force (or retired) is never changed: start a new version instead."))
    policy.summary = data.get("summary") or None
    policy.body_zh = data["body_zh"]
    policy.body_en = data["body_en"]


def publish(policy: PrivacyPolicy, user) -> None:
    if policy.status != "draft":
        raise RuleError(_("Only a draft can be published."))
    if not policy.body_zh.strip() or not policy.body_en.strip():
        raise RuleError(_("Write the policy in both Chinese and English before publishing it."))
    moved = db.session.execute(update(PrivacyPolicy).where(
        PrivacyPolicy.id == policy.id, PrivacyPolicy.status == "draft").values(
        status="published", published_at=utcnow(), published_by_id=user.id, version=PrivacyPolicy.version + 1)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise RuleError(_("Someone else published or changed this draft meanwhile: look at it again."))
    db.session.execute(update(PrivacyPolicy).where(
        PrivacyPolicy.status == "published", PrivacyPolicy.id != policy.id).values(status="superseded"))
    db.session.refresh(policy)
    audit.record("privacy.published", actor=user, details={"code": f"v{policy.number}"})
