"""What the committee saw when it approved (R4): each approve button carries a fingerprint of
the values on the page, and approval is refused when the draft changed since (trial 16: a
colleague's later draft was approved by a committee member who had never seen it)."""
import hashlib
import json

from flask_babel import gettext as _

from app.services import RuleError


def fingerprint(values) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:32]


def of_questionnaire(q) -> str:
    return fingerprint({"id": q.id, "edition": q.edition, "follow_up": q.follow_up_at_or_below,
                        "weights": {i.code: str(i.weight.normalize()) for i in q.indicators},
                        "questions": [(x.position, x.kind, x.text_zh, x.text_en, x.indicator_id) for x in q.questions]})


def of_threshold(t) -> str:
    return fingerprint({"id": t.id, "kpi": t.kpi, "edition": t.edition, "green": str(t.green.normalize()),
                        "red": str(t.red.normalize()),
                        "change": str(t.change_percent.normalize()) if t.change_percent is not None else None})


def of_scheme(s) -> str:
    return fingerprint({"id": s.id, "edition": s.edition, "weights": s.weights})


def check(seen: str | None, current: str) -> None:
    if seen != current:
        raise RuleError(_("This draft changed after you opened the page: nothing is approved. Look at it again "
                          "and approve what you see."))
