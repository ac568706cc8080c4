"""Route handlers by resource: each module gives its Route entries; api/routes.py assembles the table."""
