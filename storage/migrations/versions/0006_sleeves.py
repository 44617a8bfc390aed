"""sleeves: the master allocator's decisions, each sleeve's days, and the sleeve of an LLM call

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sleeve_allocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('regime', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('cash', sa.Float(), nullable=False),
    sa.Column('budgets', sa.JSON(), nullable=True),
    sa.Column('inputs', sa.JSON(), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sleeve_allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sleeve_allocation_as_of'), ['as_of'], unique=False)
    op.create_table('sleeve_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('sleeve', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('budget', sa.Float(), nullable=False),
    sa.Column('base_weight', sa.Float(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('day_return', sa.Float(), nullable=False),
    sa.Column('benchmark_return', sa.Float(), nullable=False),
    sa.Column('contribution', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('as_of', 'sleeve', name='uq_sleeve_day')
    )
    with op.batch_alter_table('sleeve_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sleeve_day_as_of'), ['as_of'], unique=False)
        batch_op.create_index(batch_op.f('ix_sleeve_day_sleeve'), ['sleeve'], unique=False)
    with op.batch_alter_table('llm_call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sleeve', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('llm_call', schema=None) as batch_op:
        batch_op.drop_column('sleeve')
    with op.batch_alter_table('sleeve_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sleeve_day_sleeve'))
        batch_op.drop_index(batch_op.f('ix_sleeve_day_as_of'))
    op.drop_table('sleeve_day')
    with op.batch_alter_table('sleeve_allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sleeve_allocation_as_of'))
    op.drop_table('sleeve_allocation')
