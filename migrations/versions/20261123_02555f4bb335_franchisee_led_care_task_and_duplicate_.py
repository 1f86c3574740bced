"""care tasks and duplicate candidates: franchisee-led indexes for a franchise owner's lists

Both are CurrentOwner records (app/models/base.py): the owner's scope filters them by
franchisee, and these indexes answer the care tabs and the duplicates page in order.

Revision ID: 02555f4bb335
Revises: 68d58745a358
Create Date: 2026-11-23 19:55:45.421010

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '02555f4bb335'
down_revision = '68d58745a358'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_care_task_franchisee_due', 'care_task', ['franchisee_id', 'kind', 'state', 'due_on', 'id'],
                    unique=False)
    op.create_index('ix_duplicate_candidate_franchisee_order', 'duplicate_candidate',
                    ['franchisee_id', 'strength', 'id'], unique=False)
    op.execute("ANALYZE care_task")
    op.execute("ANALYZE duplicate_candidate")


def downgrade():
    op.drop_index('ix_duplicate_candidate_franchisee_order', table_name='duplicate_candidate')
    op.drop_index('ix_care_task_franchisee_due', table_name='care_task')
