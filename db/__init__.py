"""The catalog: SQLAlchemy 2.0 typed models and sessions."""
