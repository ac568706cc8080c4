"""Route handlers by resource: each module a function returning Route entries (api/routes.py)."""
