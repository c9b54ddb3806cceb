"""PostgreSQL backend that runs the application as a role that does not own the tables.

The app logs in as PASAR_DB_APP_ROLE, so row-level security applies to everything it does.
Schema changes (migrate, flush, makemigrations) connect as the DATABASE_URL owner inside
`owner_mode()`. See docs/tenancy.md.
"""
