"""Who may read which persons (platform-api.md "Transport", persons refdata): a device's region,
kept from its enrolment code, and the persons the publisher assigns to a device.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("mdtrtarea_admvs", sa.String(6)))
    # devices enrolled before: the region of the code they used
    op.execute(
        "UPDATE devices SET mdtrtarea_admvs = (SELECT MAX(c.mdtrtarea_admvs) FROM enrol_codes c "
        "WHERE c.dev_no = devices.dev_no AND c.used_at IS NOT NULL)"
    )
    op.create_table(
        "person_assignments",
        sa.Column("dev_no", sa.String(64), primary_key=True),
        sa.Column("psn_cert", sa.String(18), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("person_assignments")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("mdtrtarea_admvs")
