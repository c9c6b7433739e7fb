"""Bounding-box search: the index on (occurred_from, id) becomes (occurred_from, id, lat, lon).

The incident list is ordered by (occurred_from, id) descending; with lat and lon in the same
index a bounding-box filter (with or without a time window) is checked inside the index while
it is read backwards in list order, so only matching rows are fetched and the scan stops at the
page limit. On PostgreSQL at 1,000,000 incidents a 30-day box query went from a bitmap AND of
two indexes (~86 ms cold) to a backward index scan (~0.5 ms). The old index is a prefix of the
new one, so it is dropped. Plain btree: no PostGIS, the same on SQLite.

Revision ID: records_0005
Revises: records_0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "records_0005"
down_revision: str | None = "records_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_incidents_occurred_box", "incidents", ["occurred_from", "id", "lat", "lon"]
    )
    op.drop_index("ix_incidents_occurred_id", table_name="incidents")


def downgrade() -> None:
    op.create_index("ix_incidents_occurred_id", "incidents", ["occurred_from", "id"])
    op.drop_index("ix_incidents_occurred_box", table_name="incidents")
