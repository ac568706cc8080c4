"""Never lose a library: backups and restore, export and import, other tools' sidecars (docs/transfer.md)."""
