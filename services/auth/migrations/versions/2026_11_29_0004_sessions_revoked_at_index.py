"""Index sessions.revoked_at: the revoked-sessions list is read every few seconds.

Revision ID: auth_0004
Revises: auth_0003
Create Date: 2026-11-29 09:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "auth_0004"
down_revision: str | None = "auth_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_sessions_revoked_at"), "sessions", ["revoked_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sessions_revoked_at"), table_name="sessions")
