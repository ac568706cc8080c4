"""The REST API: one route table over the core, mounted by the standalone server or the host."""

from .routes import PREFIX, Route, register, routes  # noqa: F401
