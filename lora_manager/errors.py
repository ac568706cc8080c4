"""One exception family. Each error says what an API would answer.

`status` and `code` are what the HTTP layer sends; `message` is for a person
and says what to do; `details` carries machine-readable context.
"""

from __future__ import annotations

from typing import Any


class LoraManagerError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(LoraManagerError):
    status = 422
    code = "invalid_input"


class BadRequest(LoraManagerError):
    status = 400
    code = "bad_request"


class NotFound(LoraManagerError):
    status = 404
    code = "not_found"


class Conflict(LoraManagerError):
    status = 409
    code = "conflict"


class Unauthorized(LoraManagerError):
    status = 401
    code = "unauthorized"


class BrokenFile(LoraManagerError):
    """A file that claims to be a LoRA but cannot be read as one."""

    status = 422
    code = "broken_file"


class UnsupportedFile(LoraManagerError):
    """A LoRA format we do not open (pickled .pt / .ckpt are never unpickled)."""

    status = 422
    code = "unsupported_file"


class StorageError(LoraManagerError):
    status = 503
    code = "storage_unavailable"


class DatabaseUnusable(StorageError):
    """The database cannot be opened as configured: its folder is missing, it is read-only, or unreadable.
    Nothing was created or changed; the message says what to fix."""

    code = "database_unusable"


class DatabaseDamaged(StorageError):
    """The database file exists but is not a usable database (empty, not SQLite, or corrupt).
    It is never replaced or migrated as new; see docs/data-safety.md."""

    code = "database_damaged"


class DiskFull(StorageError):
    """No space left where the database writes. Reads keep working; writes answer 507."""

    status = 507
    code = "disk_full"


class DatabaseBusy(StorageError):
    """Another writer held the rows we needed through every retry."""

    code = "database_busy"
