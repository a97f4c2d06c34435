"""a draft cancelled unpublished satisfies the request constraints; login attempts in the database

Revision ID: 0020_login_attempts
Revises: 0018_sanction_evidence_refs
Create Date: 2026-12-07 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_login_attempts'
down_revision = '0018_sanction_evidence_refs'
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
    op.create_table('login_attempts',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('window_start', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.CheckConstraint('hits >= 1', name=op.f('ck_login_attempts_hits_positive')),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempts_window_start'), ['window_start'], unique=False)


def downgrade():
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempts_window_start'))
    op.drop_table('login_attempts')
    # Refused while a draft cancelled unpublished exists: the old rule has no place for it.
    _request_checks(0)
