"""Route handlers, one module per resource (api/routes.py assembles the table)."""
