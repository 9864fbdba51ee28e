"""The store: SQLModel tables, sessions, queries and migrations."""
