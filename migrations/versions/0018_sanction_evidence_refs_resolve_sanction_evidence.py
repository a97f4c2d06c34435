"""sanction evidence resolved at entry: the record's id, its public number, a foreign key to the
contract or approval case; existing rows resolved where the typed number or id matches a record

Revision ID: 0018_sanction_evidence_refs
Revises: 0017_search_synonyms
Create Date: 2026-12-07 22:53:52.507130

"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_sanction_evidence_refs'
down_revision = '0017_search_synonyms'
branch_labels = None
depends_on = None

MAX_DB_INT = 2**31 - 1
# The public numbers whose digits are the primary key (as the application formats them).
KEYED = {
    'purchase_request': (re.compile(r'CG(\d{1,10})(-\d{1,4})?', re.IGNORECASE), 'purchase_requests'),
    'complaint': (re.compile(r'TS(\d{1,10})', re.IGNORECASE), 'complaints'),
    'sanction': (re.compile(r'CF(\d{1,10})', re.IGNORECASE), 'sanction_cases'),
}
BY_ID = {'rating': 'ratings', 'delivery': 'deliveries'}


def _as_id(text):
    return int(text) if text.isdigit() and len(text) <= 10 and 0 < int(text) <= MAX_DB_INT else None


def _resolve(conn, kind, typed):
    """(id, number) of the record ``typed`` names, or None (the same rule as the application)."""
    typed = (typed or '').strip()
    if kind in ('contract', 'approval_case'):
        table, column = ('contracts', 'contract_no') if kind == 'contract' else ('approval_cases', 'case_number')
        row = conn.execute(sa.text(f'SELECT id, {column} FROM {table} WHERE {column} = :n'), {'n': typed}).first()
        if row is None and _as_id(typed) is not None:
            row = conn.execute(sa.text(f'SELECT id, {column} FROM {table} WHERE id = :i'),
                               {'i': _as_id(typed)}).first()
        return (row[0], row[1]) if row else None
    if kind in KEYED:
        pattern, table = KEYED[kind]
        match = pattern.fullmatch(typed)
        obj_id = int(match.group(1)) if match else _as_id(typed)
        if obj_id is None or obj_id > MAX_DB_INT:
            return None
        if kind == 'purchase_request':
            row = conn.execute(sa.text('SELECT id, round_number FROM purchase_requests WHERE id = :i'),
                               {'i': obj_id}).first()
            if row is None:
                return None
            number = f'CG{row[0]:06d}-{row[1]}'
            return None if match and match.group(2) and number.upper() != typed.upper() else (row[0], number)
        row = conn.execute(sa.text(f'SELECT id FROM {table} WHERE id = :i'), {'i': obj_id}).first()
        return (row[0], f'{kind == "complaint" and "TS" or "CF"}{row[0]:06d}') if row else None
    if kind in BY_ID and _as_id(typed) is not None:
        row = conn.execute(sa.text(f'SELECT id FROM {BY_ID[kind]} WHERE id = :i'), {'i': _as_id(typed)}).first()
        return (row[0], '') if row else None
    return None


def upgrade():
    with op.batch_alter_table('sanction_evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('contract_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approval_case_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_sanction_evidence_approval_case_id'), ['approval_case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sanction_evidence_contract_id'), ['contract_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_sanction_evidence_approval_case_id_approval_cases'),
                                    'approval_cases', ['approval_case_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_sanction_evidence_contract_id_contracts'),
                                    'contracts', ['contract_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_sanction_evidence_contract_ref'),
                                         "contract_id IS NULL OR object_type = 'contract'")
        batch_op.create_check_constraint(batch_op.f('ck_sanction_evidence_case_ref'),
                                         "approval_case_id IS NULL OR object_type = 'approval_case'")

    # What regulators typed ("6", "ZJHT-2026-000009-1", "SP20261207B23677"): resolved where it
    # matches a record; what matches nothing stays as typed, with no number.
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, object_type, object_id FROM sanction_evidence "
                                "WHERE object_type <> 'other' ORDER BY id")).all()
    for evidence_id, kind, typed in rows:
        found = _resolve(conn, kind, typed)
        if found is None:
            continue
        obj_id, number = found
        conn.execute(sa.text(
            'UPDATE sanction_evidence SET object_id = :oid, number = :number, contract_id = :contract, '
            'approval_case_id = :case WHERE id = :id'
        ), {'oid': str(obj_id), 'number': number or '', 'id': evidence_id,
            'contract': obj_id if kind == 'contract' else None,
            'case': obj_id if kind == 'approval_case' else None})


def downgrade():
    # object_id keeps the resolved id: it still names the same record.
    with op.batch_alter_table('sanction_evidence', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_sanction_evidence_case_ref'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_sanction_evidence_contract_ref'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_sanction_evidence_contract_id_contracts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_sanction_evidence_approval_case_id_approval_cases'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sanction_evidence_contract_id'))
        batch_op.drop_index(batch_op.f('ix_sanction_evidence_approval_case_id'))
        batch_op.drop_column('approval_case_id')
        batch_op.drop_column('contract_id')
        batch_op.drop_column('number')
