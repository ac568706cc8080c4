"""Build a new SQLite library's schema in a process of its own: `python -m lora_manager.storage.new_schema PATH`.

`serve` creates a new library this way (opening.py, `schema_in_child`): Alembic, its script directory and Mako
stay in the child, which ends, rather than in the long-running server, where they would hold 5-8 MB for the
rest of its life (docs/performance-api.md). A database that exists is migrated in process as before: an
upgrade happens once per version, and a backup is taken first.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ..errors import LoraManagerError, StorageError
from .engine import make_engine, migrate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # where `lora_manager` is


def build_in_child(path: str, timeout: float = 600.0) -> None:
    """Migrate the new database file `path` to the newest revision in a child process; StorageError with the
    child's own message when it fails."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)  # as the host found us
    try:
        proc = subprocess.run([sys.executable, "-m", "lora_manager.storage.new_schema", path], check=False,
                              env=env, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        raise StorageError(f"cannot build the new database {path}: {exc}") from None
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        raise StorageError(lines[-1] if lines else f"cannot build the new database {path} (exit {proc.returncode})")


def build_schema(path: str) -> None:
    """Migrate the new database file `path` to the newest revision, in this process."""
    engine = make_engine("sqlite:///" + path)
    try:
        migrate(engine)
    finally:
        engine.dispose()  # the last connection checkpoints and removes the -wal file


def main(argv: list[str]) -> int:
    try:
        build_schema(argv[0])
    except LoraManagerError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
