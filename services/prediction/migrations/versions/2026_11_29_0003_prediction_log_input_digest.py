"""prediction_log.input_sha256: which exact input each served prediction answered.

Revision ID: prediction_0003
Revises: prediction_0002
Create Date: 2026-11-29 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "prediction_0003"
down_revision: str | None = "prediction_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("prediction_log", sa.Column("input_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("prediction_log", "input_sha256")
