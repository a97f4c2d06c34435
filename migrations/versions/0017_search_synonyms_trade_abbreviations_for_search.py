"""search synonyms: trade abbreviations (环评, 水保, 安评 …) applied to queries, with defaults

Revision ID: 0017_search_synonyms
Revises: 0016_api_token_actions
Create Date: 2026-12-07 23:05:00.000000

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_search_synonyms'
down_revision = '0016_api_token_actions'
branch_labels = None
depends_on = None

# The defaults of a fresh install, frozen here as they were when the table was made
# (marketplace.search.synonyms.DEFAULT_SYNONYMS is the living list for `flask seed demo`).
DEFAULTS = [
    ('环评', '环境影响评价|环境影响报告'),
    ('规划环评', '规划环境影响评价'),
    ('水保', '水土保持'),
    ('安评', '安全评价'),
    ('地灾', '地质灾害危险性评估|地质灾害'),
    ('能评', '节能评估|节能报告'),
    ('稳评', '社会稳定风险评估'),
    ('职评', '职业病危害评价|职业卫生评价'),
    ('洪评', '防洪评价|防洪影响评价'),
    ('震评', '地震安全性评价'),
    ('交评', '交通影响评价'),
    ('文评', '文物影响评估'),
    ('水评', '水资源论证'),
    ('雷评', '雷电灾害风险评估'),
    ('可研', '可行性研究'),
    ('测绘', '测量'),
]


def upgrade():
    synonyms = op.create_table('search_synonyms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('term', sa.String(length=40), nullable=False),
    sa.Column('expansions', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("term <> '' AND expansions <> ''", name=op.f('ck_search_synonyms_not_empty')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_search_synonyms_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_search_synonyms_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_synonyms')),
    sa.UniqueConstraint('term', name=op.f('uq_search_synonyms_term'))
    )
    revisions = op.create_table('search_synonym_revisions',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('revision', sa.String(length=32), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_synonym_revisions'))
    )
    # Stored as naive UTC, like every UTCDateTime column.
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(synonyms, [
        {'term': term, 'expansions': expansions, 'created_at': now, 'updated_at': now}
        for term, expansions in DEFAULTS
    ])
    op.bulk_insert(revisions, [{'id': 1, 'revision': '0017-defaults', 'changed_at': now}])


def downgrade():
    op.drop_table('search_synonym_revisions')
    op.drop_table('search_synonyms')
