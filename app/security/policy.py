"""Who may do what: the one table of permissions, shared by views and templates.

A permission that is not listed here is denied to everyone.
"""
from app.models.user import ROLES

ALL_ROLES = frozenset(ROLES)
HQ_READERS = frozenset({"hq_admin", "hq_auditor", "hq_supervisor", "hq_viewer"})
FRANCHISE = frozenset({"franchise_owner", "store_manager", "store_staff"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "dashboard.view": ALL_ROLES,
    "org.view": HQ_READERS | FRANCHISE,
    "org.manage": frozenset({"hq_admin"}),
    "users.manage": frozenset({"hq_admin"}),
    "audit_log.view": frozenset({"hq_admin"}),
    # Customer files. Headquarters reads them across its scope; the stores keep them.
    "customers.view": HQ_READERS | FRANCHISE,
    "customers.edit": frozenset({"hq_admin"}) | FRANCHISE,
    # Full phone, e-mail and address: only those who actually call and visit customers.
    "customers.contact_details": frozenset({"hq_admin"}) | FRANCHISE,
    "customers.import": frozenset({"hq_admin", "franchise_owner", "store_manager"}),
    "customers.export": frozenset({"hq_admin", "hq_auditor", "franchise_owner", "store_manager"}),
    "customers.merge": frozenset({"hq_admin", "franchise_owner", "store_manager"}),
    "customers.privacy": frozenset({"hq_admin", "franchise_owner", "store_manager"}),
    # Who looked at which customer (R62).
    "customers.access_log": frozenset({"hq_admin", "hq_auditor"}),
    "customers.rules": frozenset({"hq_admin"}),
    # Complaints (issue 9). Department members see what their tasks reach (security/scope.py).
    "complaints.view": HQ_READERS | FRANCHISE | {"hq_department"},
    "complaints.intake": frozenset({"hq_admin", "hq_auditor"}) | FRANCHISE,
    "complaints.handle": frozenset({"hq_admin", "hq_auditor"}) | FRANCHISE,
    # Headquarters' customer-experience department runs joint handling and verifies CAPA.
    "complaints.joint": frozenset({"hq_admin", "hq_auditor"}),
    "complaints.tasks": frozenset({"hq_admin", "hq_auditor", "hq_department", "franchise_owner"}),
    "complaints.settings": frozenset({"hq_admin", "hq_auditor"}),
    # The statistics: headquarters for the network (a supervisor their region), an owner their stores.
    "complaints.statistics": HQ_READERS | {"franchise_owner", "store_manager"},
    # Mystery-shopper audits (issue 10). The franchisee sees published audits only, a mystery
    # shopper the audits assigned to them (both by the scope: security/tenancy.py).
    "audits.view": HQ_READERS | FRANCHISE | {"mystery_shopper"},
    "audits.plan": frozenset({"hq_admin", "hq_auditor", "hq_supervisor"}),
    "audits.conduct": frozenset({"hq_admin", "hq_auditor", "hq_supervisor", "mystery_shopper"}),
    "audits.publish": frozenset({"hq_admin", "hq_auditor"}),
    "audits.respond": frozenset({"franchise_owner", "store_manager"}),
    "audits.appeal": frozenset({"franchise_owner"}),
    "audits.verify": frozenset({"hq_admin", "hq_auditor", "hq_supervisor"}),
    "audits.decide_appeal": frozenset({"hq_admin", "hq_auditor"}),
    # The touchpoint register and the templates: headquarters' CX department (R4, R29).
    "audits.standards": frozenset({"hq_admin", "hq_auditor"}),
    "audits.standards_view": HQ_READERS | {"hq_department"},
    "audits.rankings": HQ_READERS | {"franchise_owner", "store_manager"},
    "audits.quality": frozenset({"hq_admin", "hq_auditor"}),
    # Store staff and training (issue 11). Staff see their store's team and courses; the people
    # who run the team keep the register; headquarters sets positions, norms and its courses.
    "training.view": HQ_READERS | FRANCHISE,
    "training.staff_edit": frozenset({"hq_admin", "franchise_owner", "store_manager"}),
    # A staff member's work phone in full: those who manage the team.
    "training.personal": frozenset({"hq_admin", "franchise_owner", "store_manager"}),
    "training.norms": frozenset({"hq_admin"}),
    # Headquarters' courses (the CX department with HR), a franchisee's own (its owner).
    "training.courses": frozenset({"hq_admin", "hq_auditor", "franchise_owner"}),
    "training.sessions": frozenset({"hq_admin", "hq_auditor", "franchise_owner", "store_manager"}),
    "training.plans": frozenset({"hq_admin", "hq_auditor", "franchise_owner"}),
    # Appraisals: the employee's managers and headquarters only (never colleagues).
    "training.appraisals_view": HQ_READERS | {"franchise_owner", "store_manager"},
    "training.appraise": frozenset({"hq_admin", "franchise_owner", "store_manager"}),
    "training.appraisal_settings": frozenset({"hq_admin"}),
    # Satisfaction surveys (issue 12). The CX department designs questionnaires and runs the
    # survey projects; only the customer-experience committee approves a questionnaire (R4).
    "surveys.view": HQ_READERS | FRANCHISE,
    "surveys.design": frozenset({"hq_admin", "hq_auditor"}),
    "surveys.approve": frozenset({"hq_viewer"}),
    # Paper forms keyed in, and the follow-up of a very low answer: the stores (and headquarters).
    "surveys.enter": frozenset({"hq_admin", "hq_auditor"}) | FRANCHISE,
    "surveys.follow_up": frozenset({"hq_admin", "hq_auditor"}) | FRANCHISE,
    # Interviews and focus groups (R43): headquarters' research notes.
    "surveys.notes": HQ_READERS,
    # The stores send their customers' personal invitation links.
    "surveys.send": FRANCHISE,
    # KPIs, thresholds and warnings (issue 12). Headquarters sets thresholds, the committee
    # approves them (R4); a franchise owner (or store manager) acknowledges and answers a
    # warning; headquarters closes it.
    "kpis.view": HQ_READERS | {"franchise_owner", "store_manager"},
    "kpis.thresholds": frozenset({"hq_admin", "hq_auditor"}),
    "kpis.approve": frozenset({"hq_viewer"}),
    "kpis.respond": frozenset({"franchise_owner", "store_manager"}),
    "kpis.close": frozenset({"hq_admin", "hq_auditor", "hq_supervisor"}),
    # Headquarters' qualitative comment on a store's half-yearly evaluation (R51).
    "kpis.comment": frozenset({"hq_admin", "hq_auditor", "hq_supervisor"}),
    # Deliveries and logistics partners (issue 12, the Amazon case): the stores record their
    # deliveries; everyone who reads KPIs sees the partners' delivery figures (an owner those of
    # their stores' deliveries); headquarters keeps the partner list.
    "logistics.view": HQ_READERS | FRANCHISE,
    "logistics.record": frozenset({"hq_admin"}) | FRANCHISE,
    "logistics.partners": frozenset({"hq_admin"}),
    # What was e-mailed or sent to the group robots, and what failed.
    "notifications.deliveries": frozenset({"hq_admin"}),
    # Printed reports (issue 13): a mystery shopper and a store's staff print none.
    "reports.view": HQ_READERS | {"franchise_owner", "store_manager", "hq_department"},
    "reports.generate": frozenset({"hq_admin", "hq_auditor", "hq_supervisor", "franchise_owner", "store_manager"}),
    "reports.batch": frozenset({"hq_admin", "hq_auditor", "franchise_owner"}),
    # R56: headquarters sends period reports; their addressees answer with improvement measures.
    "reports.distribute": frozenset({"hq_admin", "hq_auditor"}),
    "reports.respond": frozenset({"franchise_owner", "hq_department", "hq_viewer"}),
    # The loyalty programme (issue 14). Whoever reads a customer's file reads their points; the
    # counter (store staff too) redeems and records returns; a correction of points by hand, or a
    # redemption cancelled, needs a store manager, the owner or headquarters; headquarters keeps
    # the catalogue, the tiers' privileges and the points rules.
    "loyalty.view": HQ_READERS | FRANCHISE,
    "loyalty.redeem": frozenset({"hq_admin"}) | FRANCHISE,
    "loyalty.returns": frozenset({"hq_admin"}) | FRANCHISE,
    "loyalty.adjust": frozenset({"hq_admin", "franchise_owner", "store_manager"}),
    "loyalty.catalogue": frozenset({"hq_admin"}),
    # Coupons and offers: headquarters makes the network's, an owner their franchisee's; stores'
    # managers issue them to the customers a list chose.
    "loyalty.offers": frozenset({"hq_admin", "franchise_owner"}),
    "loyalty.issue": frozenset({"hq_admin", "franchise_owner", "store_manager"}),
    # Lost customers and lost orders are recorded where they happen (R69); relationship owners and
    # reviews are for the store's management and headquarters (R70).
    "loyalty.lost": frozenset({"hq_admin"}) | FRANCHISE,
    "loyalty.reviews": frozenset({"hq_admin", "hq_supervisor", "franchise_owner", "store_manager"}),
    # Member events and clubs: planned by headquarters, owners and store managers; whoever is at
    # the door signs guests in and notes their feedback.
    "loyalty.events": frozenset({"hq_admin", "franchise_owner", "store_manager"}),
    "loyalty.sign_in": frozenset({"hq_admin"}) | FRANCHISE,
    # Governance (issue 15). Headquarters' customer-experience department keeps the manual
    # library and issues numbered copies; every headquarters reader reads the library and its
    # register. A copy reaches only the "approved users" of R5: franchise owners and store
    # managers who hold one (the scope shows a store manager only their own copies).
    "governance.manuals_view": HQ_READERS,
    "governance.manuals": frozenset({"hq_admin", "hq_auditor"}),
    "governance.copies": HQ_READERS | {"franchise_owner", "store_manager"},
    # Holding a copy: acknowledging it (the committee reads, it holds none).
    "governance.hold": frozenset({"hq_admin", "hq_auditor", "hq_supervisor", "franchise_owner", "store_manager"}),
    # Announcements: headquarters writes them; every store reads them; an owner or a store's
    # manager acknowledges them for their stores.
    "governance.announcements": HQ_READERS | FRANCHISE,
    "governance.announce": frozenset({"hq_admin", "hq_auditor"}),
    "governance.acknowledge": frozenset({"franchise_owner", "store_manager"}),
    # The committee's approvals (R4): headquarters reads the requests and their history, the
    # committee (the read-only role, which writes nothing else) comments, approves and returns;
    # who prepared a draft puts it forward (each kind's own permission, services/approvals.py).
    "governance.approvals": HQ_READERS,
    "governance.approve": frozenset({"hq_viewer"}),
    "governance.submit": frozenset({"hq_admin", "hq_auditor"}),
    # The feedback channels offered to customers and their periodic checks (R73): the CX
    # department keeps them; headquarters reads them.
    # Improvement projects (推动改进项目): headquarters' own register. The customer-experience
    # department (admin, auditors) opens and steers them; the committee reads them; a department
    # reports progress on the projects it owns or has a part in, and does its parts. (Not the
    # regional supervisors: the register and its sources span the network.)
    "governance.projects_view": frozenset({"hq_admin", "hq_auditor", "hq_viewer", "hq_department"}),
    "governance.projects": frozenset({"hq_admin", "hq_auditor"}),
    "governance.project_report": frozenset({"hq_admin", "hq_auditor", "hq_department"}),
    # Classifying customers' suggestions and praise and screening them into projects (seed 003).
    "governance.feedback_view": frozenset({"hq_admin", "hq_auditor", "hq_viewer"}),
    "governance.feedback": frozenset({"hq_admin", "hq_auditor"}),
    "governance.channels_view": HQ_READERS,
    "governance.channels": frozenset({"hq_admin", "hq_auditor"}),
    # The privacy policy (R61): headquarters' administrator edits and publishes its versions.
    "governance.privacy_view": HQ_READERS,
    "governance.privacy": frozenset({"hq_admin"}),
}


def can(user, permission: str, obj=None) -> bool:
    """True if ``user`` holds ``permission``; ``obj`` must already be loaded through the scope."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.role in PERMISSIONS.get(permission, frozenset())
