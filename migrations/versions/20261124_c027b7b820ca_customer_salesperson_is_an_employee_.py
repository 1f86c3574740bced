"""customer salesperson is an employee; complaint handler index for the appraisal

The customer file's salesperson was a user with a login; it is now an employee of the store's
team, who may or may not have one (issue 11). Each user named as a salesperson becomes (or is
matched to) an employee of their store, and the customers point at that employee.

Revision ID: c027b7b820ca
Revises: 70b34925fdbb
Create Date: 2026-11-24 12:17:10.020117

"""
from datetime import date, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c027b7b820ca'
down_revision = '70b34925fdbb'
branch_labels = None
depends_on = None

# The default posts (app/services/training/defaults.py), for a database that has none yet: the
# employees made here need a post; the portal's own defaults then find them in place.
POSTS = (("MGR", "店长", "Store manager", {"small": 1, "medium": 1, "large": 1}),
         ("SALES", "销售顾问", "Sales consultant", {"small": 2, "medium": 4, "large": 8}))
CRITERIA = "具有良好的沟通能力、服务意识和团队合作精神"


def _post(conn, code: str) -> int:
    found = conn.execute(sa.text("SELECT id FROM position WHERE code = :c"), {"c": code}).scalar()
    if found:
        return found
    now = datetime.utcnow()
    order = conn.execute(sa.text("SELECT coalesce(max(position), -1) + 1 FROM position")).scalar()
    _, zh, en, norms = next(p for p in POSTS if p[0] == code)
    conn.execute(sa.text(
        "INSERT INTO position (code, name_zh, name_en, hiring_criteria, customer_contact, position, active, version, "
        "created_at, updated_at) VALUES (:c, :zh, :en, :crit, :t, :o, :t, 1, :now, :now)"),
        {"c": code, "zh": zh, "en": en, "crit": CRITERIA, "t": True, "o": order, "now": now})
    post = conn.execute(sa.text("SELECT id FROM position WHERE code = :c"), {"c": code}).scalar()
    for size, headcount in norms.items():
        conn.execute(sa.text("INSERT INTO staffing_norm (position_id, store_size, headcount) VALUES (:p, :s, :h)"),
                     {"p": post, "s": size, "h": headcount})
    return post


def _foreign_keys(on: bool) -> None:
    """SQLite rebuilds the customer table to change a constraint, and other tables reference it:
    its foreign-key checks are paused meanwhile. The pragma is ignored inside a transaction, so
    the one in progress is committed around it (the portal's SQLite connections issue BEGIN
    themselves, which Alembic's autocommit block cannot avoid). Once back on, every reference is
    checked."""
    if op.get_bind().dialect.name != "sqlite":
        return
    raw = op.get_bind().connection.dbapi_connection
    raw.execute("COMMIT")
    raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    if on:
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    raw.execute("BEGIN")


# SQLite's rebuild of the customer table drops the triggers that keep the name search index
# (app/services/customer_search.py, as at this revision): made again, and the index rebuilt.
SEARCH_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS customer_name_fts_ai AFTER INSERT ON customer BEGIN "
    "INSERT INTO customer_name_fts(rowid, name_key) VALUES (new.id, new.name_key); END",
    "CREATE TRIGGER IF NOT EXISTS customer_name_fts_ad AFTER DELETE ON customer BEGIN "
    "INSERT INTO customer_name_fts(customer_name_fts, rowid, name_key) VALUES ('delete', old.id, old.name_key); END",
    "CREATE TRIGGER IF NOT EXISTS customer_name_fts_au AFTER UPDATE OF name_key ON customer BEGIN "
    "INSERT INTO customer_name_fts(customer_name_fts, rowid, name_key) VALUES ('delete', old.id, old.name_key); "
    "INSERT INTO customer_name_fts(rowid, name_key) VALUES (new.id, new.name_key); END",
    "INSERT INTO customer_name_fts(customer_name_fts) VALUES ('rebuild')",
)


def _search_triggers() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite" and conn.execute(sa.text(
            "SELECT 1 FROM sqlite_master WHERE name = 'customer_name_fts'")).first():
        for statement in SEARCH_TRIGGERS:
            op.execute(statement)


def upgrade():
    _foreign_keys(False)
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_customer_salesperson_id_user'), type_='foreignkey')
    conn = op.get_bind()
    users = conn.execute(sa.text("SELECT DISTINCT salesperson_id FROM customer WHERE salesperson_id IS NOT NULL")).scalars().all()
    mapping = {}
    for user_id in users:
        employee = conn.execute(sa.text("SELECT id FROM employee WHERE user_id = :u"), {"u": user_id}).scalar()
        if employee is None:
            user = conn.execute(sa.text('SELECT display_name, role, active, created_at FROM "user" WHERE id = :u'),
                                {"u": user_id}).first()
            store = conn.execute(sa.text("SELECT store_id FROM user_store WHERE user_id = :u ORDER BY store_id"),
                                 {"u": user_id}).scalar() or conn.execute(sa.text(
                                     "SELECT store_id FROM customer WHERE salesperson_id = :u ORDER BY id"), {"u": user_id}).scalar()
            franchisee = conn.execute(sa.text("SELECT franchisee_id FROM store WHERE id = :s"), {"s": store}).scalar()
            post = _post(conn, "MGR" if user.role == "store_manager" else "SALES")
            created = user.created_at if isinstance(user.created_at, datetime) else datetime.utcnow()
            now = datetime.utcnow()
            conn.execute(sa.text(
                "INSERT INTO employee (store_id, franchisee_id, name, position_id, hire_date, status, left_on, user_id, "
                "version, created_at, updated_at) VALUES (:s, :f, :n, :p, :h, :st, :l, :u, 1, :now, :now)"),
                {"s": store, "f": franchisee, "n": user.display_name, "p": post, "h": created.date(),
                 "st": "active" if user.active else "left", "l": None if user.active else date.today(), "u": user_id,
                 "now": now})
            employee = conn.execute(sa.text("SELECT id FROM employee WHERE user_id = :u"), {"u": user_id}).scalar()
            conn.execute(sa.text("UPDATE employee SET staff_no = :n WHERE id = :e"), {"n": f"YG{employee:06d}", "e": employee})
        mapping[user_id] = employee
    # Through negative numbers, so that a user id equal to another's employee id is not remapped twice.
    for user_id, employee in mapping.items():
        conn.execute(sa.text("UPDATE customer SET salesperson_id = :e WHERE salesperson_id = :u"), {"e": -employee, "u": user_id})
    conn.execute(sa.text("UPDATE customer SET salesperson_id = -salesperson_id WHERE salesperson_id < 0"))
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_customer_salesperson_id_employee'), 'employee', ['salesperson_id'], ['id'])
    _search_triggers()
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_handler_resolved', ['handler_id', 'resolved_at'], unique=False)
    _foreign_keys(True)


def downgrade():
    _foreign_keys(False)
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_handler_resolved')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_customer_salesperson_id_employee'), type_='foreignkey')
    conn = op.get_bind()
    # Back to the employee's login; a salesperson without one is no longer named.
    conn.execute(sa.text("UPDATE customer SET salesperson_id = -(SELECT e.user_id FROM employee e "
                         "WHERE e.id = customer.salesperson_id) WHERE salesperson_id IS NOT NULL"))
    conn.execute(sa.text("UPDATE customer SET salesperson_id = -salesperson_id WHERE salesperson_id < 0"))
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_customer_salesperson_id_user'), 'user', ['salesperson_id'], ['id'])
    _search_triggers()
    _foreign_keys(True)
