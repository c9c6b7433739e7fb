"""Name search on a vocabulary of name words: person_name_terms (trigram-indexed: SQLite FTS5
trigram / PostgreSQL pg_trgm) and person_terms; replaces the trigram index on whole names, which
was too slow at half a million persons.

Revision ID: records_0004
Revises: records_0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "records_0004"
down_revision: str | None = "records_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _words(search_text: str) -> set[str]:
    return {word[:100] for word in search_text.replace("|", " ").split()}


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("DROP INDEX IF EXISTS ix_persons_search_trgm")
    else:
        for trigger in ("persons_fts_insert", "persons_fts_update", "persons_fts_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS persons_fts")
    with op.batch_alter_table("persons") as batch:
        batch.drop_constraint("uq_persons_search_key", type_="unique")
        batch.drop_column("search_key")

    terms = op.create_table(
        "person_name_terms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_name_terms")),
        sa.UniqueConstraint("term", name=op.f("uq_person_name_terms_term")),
    )
    postings = op.create_table(
        "person_terms",
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["term_id"],
            ["person_name_terms.id"],
            name=op.f("fk_person_terms_term_id_person_name_terms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_person_terms_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("term_id", "person_id", name=op.f("pk_person_terms")),
    )
    op.create_index("ix_person_terms_person", "person_terms", ["person_id"], unique=False)

    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_person_name_terms_trgm ON person_name_terms "
            "USING gin (term gin_trgm_ops)"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE person_name_terms_fts USING fts5("
            "term, content = 'person_name_terms', content_rowid = 'id', tokenize = 'trigram')"
        )
        op.execute(
            "CREATE TRIGGER person_name_terms_fts_insert AFTER INSERT ON person_name_terms BEGIN "
            "INSERT INTO person_name_terms_fts (rowid, term) VALUES (new.id, new.term); END"
        )
        op.execute(
            "CREATE TRIGGER person_name_terms_fts_delete AFTER DELETE ON person_name_terms BEGIN "
            "INSERT INTO person_name_terms_fts (person_name_terms_fts, rowid, term) "
            "VALUES ('delete', old.id, old.term); END"
        )

    # Backfill from the persons already recorded.
    persons = bind.execute(sa.text("SELECT id, search_text FROM persons")).all()
    vocabulary: dict[str, int] = {}
    rows = []
    for person_id, search_text in persons:
        for word in sorted(_words(search_text)):
            if word not in vocabulary:
                vocabulary[word] = len(vocabulary) + 1
            rows.append({"term_id": vocabulary[word], "person_id": person_id})
    if vocabulary:
        op.bulk_insert(terms, [{"id": i, "term": w} for w, i in vocabulary.items()])
        op.bulk_insert(postings, rows)
        if postgres:
            op.execute(
                "SELECT setval(pg_get_serial_sequence('person_name_terms', 'id'), "
                "(SELECT max(id) FROM person_name_terms))"
            )


def downgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("DROP INDEX IF EXISTS ix_person_name_terms_trgm")
    else:
        op.execute("DROP TRIGGER IF EXISTS person_name_terms_fts_insert")
        op.execute("DROP TRIGGER IF EXISTS person_name_terms_fts_delete")
        op.execute("DROP TABLE IF EXISTS person_name_terms_fts")
    op.drop_index("ix_person_terms_person", table_name="person_terms")
    op.drop_table("person_terms")
    op.drop_table("person_name_terms")
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("search_key", sa.BigInteger(), nullable=True))
    op.execute("UPDATE persons SET search_key = 0")  # the old FTS index is not rebuilt
