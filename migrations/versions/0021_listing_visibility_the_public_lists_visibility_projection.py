"""the public lists' visibility projection: visible listings, per-agency counts, per-item statistics

Revision ID: 0021_listing_visibility
Revises: 0020_login_attempts
Create Date: 2026-12-07 23:30:00.000000

The tables start empty and without a state row, so every page uses the live rule until the
``agencies.visibility`` job (or ``flask agencies rebuild-visibility``) first fills them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_listing_visibility'
down_revision = '0020_login_attempts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'listing_visibility_state',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_listing_visibility_state_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_visibility_state')),
    )
    op.create_table(
        'listing_visibility',
        sa.Column('listing_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('service_item_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('no_amount', sa.SmallInteger(), nullable=False),
        sa.Column('fee_min_fen', sa.BigInteger(), nullable=True),
        sa.Column('fee_max_fen', sa.BigInteger(), nullable=True),
        sa.Column('time_limit_days', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['listing_id'], ['agency_listings.id'],
                                name=op.f('fk_listing_visibility_listing_id_agency_listings'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_listing_visibility_organisation_id_organisations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['service_item_id'], ['service_items.id'],
                                name=op.f('fk_listing_visibility_service_item_id_service_items'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['category_id'], ['service_categories.id'],
                                name=op.f('fk_listing_visibility_category_id_service_categories'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('listing_id', name=op.f('pk_listing_visibility')),
    )
    op.create_index('ix_listing_visibility_item_fee', 'listing_visibility',
                    ['service_item_id', 'no_amount', 'fee_min_fen', 'time_limit_days', 'listing_id'])
    op.create_index('ix_listing_visibility_org_item', 'listing_visibility', ['organisation_id', 'service_item_id'])
    op.create_index('ix_listing_visibility_org_category', 'listing_visibility', ['organisation_id', 'category_id'])
    op.create_table(
        'agency_visible_counts',
        sa.Column('organisation_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('visible_count', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_agency_visible_counts_organisation_id_organisations'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_agency_visible_counts')),
    )
    op.create_index('ix_agency_visible_counts_order', 'agency_visible_counts',
                    [sa.text('visible_count DESC'), 'name', 'organisation_id'])
    op.create_table(
        'service_item_offer_stats',
        sa.Column('service_item_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('offer_count', sa.Integer(), nullable=False),
        sa.Column('min_fee_fen', sa.BigInteger(), nullable=True),
        sa.Column('min_days', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['service_item_id'], ['service_items.id'],
                                name=op.f('fk_service_item_offer_stats_service_item_id_service_items'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('service_item_id', name=op.f('pk_service_item_offer_stats')),
    )


def downgrade():
    op.drop_table('service_item_offer_stats')
    op.drop_index('ix_agency_visible_counts_order', table_name='agency_visible_counts')
    op.drop_table('agency_visible_counts')
    op.drop_index('ix_listing_visibility_org_category', table_name='listing_visibility')
    op.drop_index('ix_listing_visibility_org_item', table_name='listing_visibility')
    op.drop_index('ix_listing_visibility_item_fee', table_name='listing_visibility')
    op.drop_table('listing_visibility')
    op.drop_table('listing_visibility_state')
