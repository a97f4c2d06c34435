"""a draft cancelled unpublished satisfies the request constraints; login attempts in the database

Revision ID: 0020_login_attempts
Revises: 0016_api_token_actions
Create Date: 2026-12-07 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_login_attempts'
down_revision = '0016_api_token_actions'
branch_labels = None
depends_on = None

PUBLISHED_AT_SET = ("status = 'draft' OR published_at IS NOT NULL",
                    "status IN ('draft', 'cancelled') OR published_at IS NOT NULL")
DRAW_COMMITTED = ("selection_method <> 'random_draw' OR status = 'draft' OR draw_commitment IS NOT NULL",
                  "selection_method <> 'random_draw' OR status = 'draft'"
                  " OR (status = 'cancelled' AND published_at IS NULL) OR draw_commitment IS NOT NULL")


def _request_checks(which):
    with op.batch_alter_table('purchase_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_purchase_requests_published_at_set'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_purchase_requests_draw_committed'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_purchase_requests_published_at_set'),
                                         PUBLISHED_AT_SET[which])
        batch_op.create_check_constraint(batch_op.f('ck_purchase_requests_draw_committed'),
                                         DRAW_COMMITTED[which])


def upgrade():
    _request_checks(1)


def downgrade():
    # Refused while a draft cancelled unpublished exists: the old rule has no place for it.
    _request_checks(0)
