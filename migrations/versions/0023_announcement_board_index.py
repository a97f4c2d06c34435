"""the announcement board by index: purchase requests by (published_at, id)

Revision ID: 0023_announcement_board_index
Revises: 0022_credit_explain_index
Create Date: 2026-12-08 04:10:00.000000

The public board lists published requests newest first (``published_at DESC, id DESC``). At a
province's 53,000 requests PostgreSQL sorted them all for each page (0.2 s); this index is walked
backwards for the page shown.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0023_announcement_board_index'
down_revision = '0022_credit_explain_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_purchase_requests_published_id', 'purchase_requests', ['published_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_purchase_requests_published_id', table_name='purchase_requests')
