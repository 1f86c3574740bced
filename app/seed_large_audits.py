"""The large network's audits (issue 10): ``seed large`` adds 20 audits per store (20,000 for the
default 1,000 stores) with every item answered, over the last five quarters.

Quarters before this one are published or closed, with a corrective action per item below
standard (most accepted, some still open or answered, a few appealed); this quarter's are
planned, being conducted or submitted and not yet published. Scores are computed by the portal's
own scoring (services/audits/scoring.py) and the quarter figures by its refresh, so the pages
read what the portal would have stored. A generator of its own (``random.Random(seed + 10)``).
Core inserts in batches.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import (
    AuditAnswer, AuditQuarterStats, AuditScoreChange, CorrectiveAction, Store, StoreAudit, User,
)
from app.models.base import local_date, utcnow
from app.services.audits import scoring, templates, workflow

# Every row of a batch names the same columns (one INSERT for the batch).
AUDIT_DEFAULTS = dict.fromkeys(("visited_on", "started_at", "ended_at", "scenario", "summary", "score", "raw_score",
                                "section_scores", "submitted_at", "published_at", "published_by_id", "closed_at",
                                "recheck_of_id"))
ACTION_DEFAULTS = dict.fromkeys(("response", "root_cause", "preventive_action", "responded_at", "responded_by_id",
                                 "verified_at", "verified_by_id", "verification_note", "appeal_status"))
PER_STORE = 20
QUARTERS = 5
BATCH = 2_000
FINDINGS = ["当班店员未做到", "稽核时未观察到", "做得不够主动", "介绍不完整，需顾客追问", "回答含糊"]


def load(seed: int, progress, end_transaction, now: datetime | None = None, per_store: int = PER_STORE) -> int:
    now = (now or utcnow()).replace(microsecond=0)
    template = templates.install_defaults()
    end_transaction()
    rng = random.Random(seed + 10)
    items = [(i.id, i.scoring, i.allow_na, Decimal_(i.weight), i.critical) for i in template.items]
    # The stores with no audits yet (the demo's own stores have theirs from the demo seed).
    stores = db.session.execute(select(Store.id, Store.franchisee_id).where(
        Store.status == "open", Store.id.not_in(select(StoreAudit.store_id).distinct())).order_by(Store.id)).all()
    auditors = db.session.scalars(select(User.id).where(User.role.in_(("hq_auditor", "mystery_shopper")))
                                  .order_by(User.id)).all()
    if not stores or not auditors or per_store <= 0:
        return 0
    planner = auditors[0]
    today = local_date(now)
    this_year, this_quarter = workflow.quarter_of(today)
    next_audit = (db.session.scalar(select(func.max(StoreAudit.id))) or 0) + 1
    next_answer = (db.session.scalar(select(func.max(AuditAnswer.id))) or 0) + 1
    next_action = (db.session.scalar(select(func.max(CorrectiveAction.id))) or 0) + 1
    used_refs = set(db.session.scalars(select(StoreAudit.reference)).all())
    audits, answers, actions, changes = [], [], [], []
    written = 0
    stats: dict[tuple, list] = {}
    for store_id, franchisee_id in stores:
        quality = 0.7 + rng.random() * 0.28
        for n in range(per_store):
            back = n * QUARTERS // per_store  # 0 = this quarter
            index = this_year * 4 + this_quarter - 1 - (QUARTERS - 1 - back)
            year, quarter = index // 4, index % 4 + 1
            current = (year, quarter) == (this_year, this_quarter)
            audit_id = next_audit
            next_audit += 1
            reference = _reference(rng, today, used_refs)
            due = workflow.quarter_end(year, quarter)
            start_day = max(due - timedelta(days=rng.randint(5, 85)), due - timedelta(days=88))
            if current:
                state = rng.choice(("planned", "planned", "in_progress", "submitted"))
                if start_day > today:
                    start_day = today - timedelta(days=rng.randint(0, 20))
            else:
                state = "published"
            row = AUDIT_DEFAULTS | {"id": audit_id, "reference": reference, "store_id": store_id, "franchisee_id": franchisee_id,
                   "template_id": template.id, "year": year, "quarter": quarter, "due_on": due,
                   "auditor_id": rng.choice(auditors), "planned_by_id": planner, "status": state, "version": 1,
                   "critical_failures": 0, "answered": 0, "findings": 0, "open_actions": 0, "short_visit": False,
                   "created_at": now, "updated_at": now}
            if state != "planned":
                started = datetime.combine(start_day, datetime.min.time()) + timedelta(hours=2 + rng.random() * 8)
                minutes = rng.choice((8, 30, 40, 45, 50, 60, 75))
                given = {}
                for item_id, kind, allow_na, weight, critical in items:
                    if allow_na and rng.random() < 0.2:
                        given[item_id] = scoring.Answer(None, True)
                        continue
                    good = rng.random() < quality
                    value = (1 if good else 0) if kind == "yes_no" else (rng.choice((4, 5, 5)) if good else rng.choice((1, 2, 3)))
                    given[item_id] = scoring.Answer(value, False)
                result = scoring.score(template, given)
                row.update(visited_on=start_day, started_at=started, ended_at=started + timedelta(minutes=minutes),
                           scenario="购买家具并询问送货", score=result.score, raw_score=result.raw_score,
                           section_scores={str(k): (str(v) if v is not None else None) for k, v in result.sections.items()},
                           critical_failures=result.critical_failures, answered=result.answered,
                           short_visit=minutes < template.min_minutes)
                for item_id, answer in given.items():
                    answers.append({"id": next_answer, "audit_id": audit_id, "item_id": item_id, "store_id": store_id,
                                    "franchisee_id": franchisee_id, "value": answer.value,
                                    "not_applicable": answer.not_applicable,
                                    "note": rng.choice(FINDINGS) if item_id in result.below_standard else None})
                    next_answer += 1
                if state in ("submitted", "published"):
                    submitted = started + timedelta(minutes=minutes)
                    row.update(submitted_at=submitted, findings=len(result.below_standard))
                    changes.append({"audit_id": audit_id, "store_id": store_id, "franchisee_id": franchisee_id,
                                    "at": submitted, "by_id": row["auditor_id"], "new_score": result.score,
                                    "reason": "submitted"})
                    published = submitted + timedelta(days=2)
                    open_count = 0
                    for item_id in result.below_standard:
                        status = "open"
                        if state == "published":
                            roll = rng.random()
                            age = (today - published.date()).days
                            status = ("accepted" if roll < (0.95 if age > 60 else 0.5) else
                                      "answered" if roll < 0.97 else "open")
                        open_count += status in ("open", "answered")
                        action = ACTION_DEFAULTS | {"id": next_action, "audit_id": audit_id, "item_id": item_id, "store_id": store_id,
                                  "franchisee_id": franchisee_id, "finding": rng.choice(FINDINGS),
                                  "due_on": published.date() + timedelta(days=workflow.ACTION_DAYS), "status": status,
                                  "times_returned": 0, "version": 1, "created_at": submitted, "updated_at": submitted,
                                  "appeal_status": "pending" if status == "open" and rng.random() < 0.1 else None}
                        if status in ("answered", "accepted"):
                            action.update(response="已整改并复核", root_cause="员工培训不到位", preventive_action="每周抽查",
                                          responded_at=published + timedelta(days=5))
                        if status == "accepted":
                            action.update(verified_at=published + timedelta(days=8), verified_by_id=row["auditor_id"])
                        actions.append(action)
                        next_action += 1
                    if state == "published":
                        row.update(published_at=published, published_by_id=planner, open_actions=open_count,
                                   status="published" if open_count else "closed",
                                   closed_at=None if open_count else published)
                        _count(stats, store_id, franchisee_id, year, quarter, result, template)
            audits.append(row)
            if len(audits) >= BATCH:
                written += _flush(audits, answers, actions, changes)
                end_transaction()
                progress(f"audits: {written:,}")
    written += _flush(audits, answers, actions, changes)
    rows = [{"store_id": s, "franchisee_id": f, "year": y, "quarter": q, "touchpoint_id": t, "audits": c,
             "score_sum": total, "latest_score": latest} for (s, f, y, q, t), (c, total, latest) in stats.items()]
    for start in range(0, len(rows), 10_000):
        db.session.execute(insert(AuditQuarterStats.__table__), rows[start:start + 10_000])
    end_transaction()
    return written


def Decimal_(value):  # noqa: N802 (a Decimal, whatever the column gave)
    from decimal import Decimal

    return Decimal(value)


def _reference(rng, today, used) -> str:
    while True:
        reference = f"JC{today:%y%m}{rng.randrange(100000):05d}{rng.randrange(10)}"
        if reference not in used:
            used.add(reference)
            return reference


def _count(stats, store_id, franchisee_id, year, quarter, result, template) -> None:
    touchpoints = {s.id: s.touchpoint_id for s in template.sections}
    values = [(0, result.score)] + [(touchpoints[k], v) for k, v in result.sections.items() if v is not None]
    for touchpoint_id, value in values:
        if value is None:
            continue
        entry = stats.setdefault((store_id, franchisee_id, year, quarter, touchpoint_id), [0, 0, None])
        entry[0] += 1
        entry[1] += value
        entry[2] = value


def _flush(audits, answers, actions, changes) -> int:
    count = len(audits)
    for table, rows in ((StoreAudit.__table__, audits), (AuditAnswer.__table__, answers),
                        (CorrectiveAction.__table__, actions), (AuditScoreChange.__table__, changes)):
        if rows:
            db.session.execute(insert(table), rows)
            rows.clear()
    return count
