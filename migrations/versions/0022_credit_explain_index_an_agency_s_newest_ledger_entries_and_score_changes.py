"""an agency's newest ledger entries and score changes by index ("why this score" page)

Revision ID: 0022_credit_explain_index
Revises: 0021_listing_visibility
Create Date: 2026-12-08 02:40:00.000000

``credit.explain`` reads an agency's newest 200 entries by (occurred_at, id) and its newest 50
score changes by id. With an index on ``organisation_id`` alone both sort every row of the
agency; these composite indexes walk only the rows shown. The history's single-column index is
replaced by the composite one, which serves every query it served.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_credit_explain_index'
down_revision = '0021_listing_visibility'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_credit_inputs_org_occurred', 'credit_inputs',
                    ['organisation_id', 'occurred_at', 'id'], unique=False)
    op.create_index('ix_credit_score_history_org_id', 'credit_score_history',
                    ['organisation_id', 'id'], unique=False)
    op.drop_index('ix_credit_score_history_organisation_id', table_name='credit_score_history')


def downgrade():
    op.create_index('ix_credit_score_history_organisation_id', 'credit_score_history',
                    ['organisation_id'], unique=False)
    op.drop_index('ix_credit_score_history_org_id', table_name='credit_score_history')
    op.drop_index('ix_credit_inputs_org_occurred', table_name='credit_inputs')
