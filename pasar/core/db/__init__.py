"""PostgreSQL backend that runs the application as a role that does not own the tables.

Every connection switches to PASAR_DB_APP_ROLE, so row-level security applies to everything
the app does. Schema changes (migrate, flush) run as the connecting owner role inside
`owner_mode()`. See docs/tenancy.md.
"""
