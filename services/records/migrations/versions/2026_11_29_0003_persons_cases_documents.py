"""Persons and their roles in incidents, cases and diaries, documents, idempotency keys, audit
chain; the trigram name index (SQLite FTS5 trigram / PostgreSQL pg_trgm).

Revision ID: records_0003
Revises: records_0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'records_0003'
down_revision: str | None = 'records_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_entries',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('actor_roles', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('target_type', sa.String(length=50), nullable=True),
    sa.Column('target_id', sa.String(length=100), nullable=True),
    sa.Column('outcome', sa.String(length=30), nullable=False),
    sa.Column('source_ip', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
    sa.UniqueConstraint('entry_hash', name=op.f('uq_audit_entries_entry_hash'))
    )
    op.create_index(op.f('ix_audit_entries_action'), 'audit_entries', ['action'], unique=False)
    op.create_index(op.f('ix_audit_entries_occurred_at'), 'audit_entries', ['occurred_at'], unique=False)
    op.create_index(op.f('ix_audit_entries_target_id'), 'audit_entries', ['target_id'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_number', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('assigned_officer', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by', sa.String(length=128), nullable=True),
    sa.Column('delete_reason', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('case_number', name=op.f('uq_cases_case_number'))
    )
    op.create_index(op.f('ix_cases_assigned_officer'), 'cases', ['assigned_officer'], unique=False)
    op.create_index(op.f('ix_cases_station_id'), 'cases', ['station_id'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('owner_type', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.String(length=36), nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('original_filename', sa.String(length=255), nullable=False),
    sa.Column('media_type', sa.String(length=127), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by', sa.String(length=128), nullable=True),
    sa.Column('delete_reason', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    op.create_index('ix_documents_owner', 'documents', ['owner_type', 'owner_id'], unique=False)
    op.create_index(op.f('ix_documents_sha256'), 'documents', ['sha256'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('response_headers', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('subject', 'key', name='uq_idempotency_keys_subject_key')
    )
    op.create_table('persons',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('given_name', sa.String(length=200), nullable=False),
    sa.Column('family_name', sa.String(length=200), nullable=False),
    sa.Column('aliases', sa.Text(), nullable=False),
    sa.Column('identifiers', sa.Text(), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('name_key', sa.String(length=401), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('search_key', sa.BigInteger(), nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by', sa.String(length=128), nullable=True),
    sa.Column('delete_reason', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_persons')),
    sa.UniqueConstraint('search_key', name=op.f('uq_persons_search_key'))
    )
    op.create_index('ix_persons_name_dob', 'persons', ['name_key', 'date_of_birth'], unique=False)
    op.create_index(op.f('ix_persons_station_id'), 'persons', ['station_id'], unique=False)

    op.create_table('case_diary_entries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('entry_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author', sa.String(length=128), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_diary_entries_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_diary_entries'))
    )
    op.create_index(op.f('ix_case_diary_entries_case_id'), 'case_diary_entries', ['case_id'], unique=False)

    op.create_table('case_incidents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('incident_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_incidents_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_case_incidents_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_incidents')),
    sa.UniqueConstraint('case_id', 'incident_id', name='uq_case_incidents_pair')
    )
    op.create_index(op.f('ix_case_incidents_case_id'), 'case_incidents', ['case_id'], unique=False)
    op.create_index(op.f('ix_case_incidents_incident_id'), 'case_incidents', ['incident_id'], unique=False)

    op.create_table('incident_persons',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('incident_id', sa.String(length=36), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('notes', sa.String(length=1000), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_persons_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_incident_persons_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_persons')),
    sa.UniqueConstraint('incident_id', 'person_id', 'role', name='uq_incident_persons_role')
    )
    op.create_index(op.f('ix_incident_persons_incident_id'), 'incident_persons', ['incident_id'], unique=False)
    op.create_index(op.f('ix_incident_persons_person_id'), 'incident_persons', ['person_id'], unique=False)

    _create_name_index()


def downgrade() -> None:
    _drop_name_index()
    op.drop_index(op.f('ix_incident_persons_person_id'), table_name='incident_persons')
    op.drop_index(op.f('ix_incident_persons_incident_id'), table_name='incident_persons')

    op.drop_table('incident_persons')
    op.drop_index(op.f('ix_case_incidents_incident_id'), table_name='case_incidents')
    op.drop_index(op.f('ix_case_incidents_case_id'), table_name='case_incidents')

    op.drop_table('case_incidents')
    op.drop_index(op.f('ix_case_diary_entries_case_id'), table_name='case_diary_entries')

    op.drop_table('case_diary_entries')
    op.drop_index(op.f('ix_persons_station_id'), table_name='persons')
    op.drop_index('ix_persons_name_dob', table_name='persons')

    op.drop_table('persons')
    op.drop_table('idempotency_keys')
    op.drop_index(op.f('ix_documents_sha256'), table_name='documents')
    op.drop_index('ix_documents_owner', table_name='documents')

    op.drop_table('documents')
    op.drop_index(op.f('ix_cases_station_id'), table_name='cases')
    op.drop_index(op.f('ix_cases_assigned_officer'), table_name='cases')

    op.drop_table('cases')
    op.drop_index(op.f('ix_audit_entries_target_id'), table_name='audit_entries')
    op.drop_index(op.f('ix_audit_entries_occurred_at'), table_name='audit_entries')
    op.drop_index(op.f('ix_audit_entries_action'), table_name='audit_entries')

    op.drop_table('audit_entries')


def _create_name_index() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_persons_search_trgm ON persons "
            "USING gin (search_text gin_trgm_ops)"
        )
        return
    op.execute(
        "CREATE VIRTUAL TABLE persons_fts USING fts5("
        "search_text, tokenize = 'trigram')"
    )
    op.execute(
        "CREATE TRIGGER persons_fts_insert AFTER INSERT ON persons BEGIN "
        "INSERT INTO persons_fts (rowid, search_text) VALUES (new.search_key, new.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER persons_fts_update AFTER UPDATE OF search_text ON persons BEGIN "
        "DELETE FROM persons_fts WHERE rowid = old.search_key; "
        "INSERT INTO persons_fts (rowid, search_text) VALUES (new.search_key, new.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER persons_fts_delete AFTER DELETE ON persons BEGIN "
        "DELETE FROM persons_fts WHERE rowid = old.search_key; END"
    )


def _drop_name_index() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_persons_search_trgm")
        return
    for trigger in ("persons_fts_insert", "persons_fts_update", "persons_fts_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS persons_fts")
