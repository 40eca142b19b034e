"""Storage layer: SQLAlchemy models, engine and session factory, Alembic migrations."""
