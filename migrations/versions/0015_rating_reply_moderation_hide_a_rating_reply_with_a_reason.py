"""rating reply moderation: a regulator hides a reply with a reason, as a comment

Revision ID: 0015_rating_reply_moderation
Revises: 0014_complaints_inspections
Create Date: 2026-12-03 12:25:33.684137

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_rating_reply_moderation'
down_revision = '0014_complaints_inspections'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_hidden_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('reply_hidden_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reply_hidden_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_ratings_reply_hidden_by_id_users'), 'users', ['reply_hidden_by_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_ratings_reply_hidden_has_reason'),
            "reply_hidden_at IS NULL OR (reply IS NOT NULL AND reply_hidden_reason <> '')",
        )


def downgrade():
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_ratings_reply_hidden_has_reason'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_ratings_reply_hidden_by_id_users'), type_='foreignkey')
        batch_op.drop_column('reply_hidden_reason')
        batch_op.drop_column('reply_hidden_by_id')
        batch_op.drop_column('reply_hidden_at')
