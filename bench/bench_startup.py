"""How long a short command (`list`, `show`) takes from a cold process, against bare baselines.

    .venv/bin/python bench/bench_startup.py [--runs 9]

Baselines in the same run: the interpreter alone, and a bare script that opens the same
SQLite database with the sqlite3 module and reads five rows. Also lists the slowest imports
of `list` (python -X importtime), so that heavy modules on that path are seen.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timed(cmd: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def slowest_imports(cmd: list[str], env: dict[str, str], n: int = 8) -> list[tuple[int, str]]:
    err = subprocess.run([sys.executable, "-X", "importtime", *cmd[1:]], env=env, capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    top = [r for r in rows if not r[1].startswith("   ")]  # imported at the top level of a module we run
    return sorted(top, reverse=True)[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    from tests.loras import write_lora

    with tempfile.TemporaryDirectory() as tmp:
        for i in range(50):
            write_lora(os.path.join(tmp, "lib", f"l{i}.safetensors"), seed=i)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
        env.update(LORA_MANAGER_DATA_DIR=os.path.join(tmp, "data"), LORA_MANAGER_LORA_DIRS=os.path.join(tmp, "lib"))
        lm = [sys.executable, "-m", "lora_manager"]
        subprocess.run([*lm, "scan"], env=env, check=True, capture_output=True)
        db = os.path.join(tmp, "data", "library.db")
        bare = (
            f"import sqlite3; c = sqlite3.connect({db!r}); c.execute('select id, path from loras limit 5').fetchall()"
        )
        figures = {
            "python -c pass": timed([sys.executable, "-c", "pass"], env, args.runs),
            "bare sqlite3 read of 5 rows": timed([sys.executable, "-c", bare], env, args.runs),
            "lora-manager list --limit 5": timed([*lm, "list", "--limit", "5"], env, args.runs),
            "lora-manager show l1": timed([*lm, "show", "l1"], env, args.runs),
        }
        base = figures["bare sqlite3 read of 5 rows"]
        print(f"{'command':<32} {'median s':>9} {'x bare':>7}")
        for name, t in figures.items():
            print(f"{name:<32} {t:>9.3f} {t / base:>7.2f}")
        print("\nslowest top-level imports of `list` (cumulative µs):")
        for us, name in slowest_imports([*lm, "list", "--limit", "5"], env):
            print(f"{us:>9} {name.strip()}")


if __name__ == "__main__":
    main()
