"""deliveries and extensions by API token: the user or the token that acted, never neither

Revision ID: 0016_api_token_actions
Revises: 0015_rating_reply_moderation
Create Date: 2026-12-03 15:59:42.123722

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_api_token_actions'
down_revision = '0015_rating_reply_moderation'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('delivery_extensions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proposed_by_token_id', sa.Integer(), nullable=True))
        batch_op.alter_column('proposed_by_id', existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_delivery_extensions_proposed_by_token_id_api_tokens'),
                                    'api_tokens', ['proposed_by_token_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_delivery_extensions_has_proposer'),
            "proposed_by_id IS NOT NULL OR proposed_by_token_id IS NOT NULL",
        )

    with op.batch_alter_table('delivery_submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submitted_by_token_id', sa.Integer(), nullable=True))
        batch_op.alter_column('submitted_by_id', existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_delivery_submissions_submitted_by_token_id_api_tokens'),
                                    'api_tokens', ['submitted_by_token_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_delivery_submissions_has_submitter'),
            "submitted_by_id IS NOT NULL OR submitted_by_token_id IS NOT NULL",
        )


def downgrade():
    # Rows made by a token have no user: they cannot go back to NOT NULL columns.
    with op.batch_alter_table('delivery_submissions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_delivery_submissions_has_submitter'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_delivery_submissions_submitted_by_token_id_api_tokens'),
                                 type_='foreignkey')
        batch_op.alter_column('submitted_by_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column('submitted_by_token_id')

    with op.batch_alter_table('delivery_extensions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_delivery_extensions_has_proposer'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_delivery_extensions_proposed_by_token_id_api_tokens'),
                                 type_='foreignkey')
        batch_op.alter_column('proposed_by_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column('proposed_by_token_id')
