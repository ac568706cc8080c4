"""Modules stay small: no Python file over 400 lines, no JavaScript file over 500 (tests included)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tracked(pattern: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", pattern], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in out.split()] or list(ROOT.rglob(pattern))


def test_no_module_over_the_limits():
    too_long = []
    for pattern, limit in (("*.py", 400), ("*.js", 500)):
        for path in _tracked(pattern):
            if ".venv" in path.parts or not path.exists():
                continue
            lines = path.read_text(encoding="utf-8").count("\n")
            if lines > limit:
                too_long.append(f"{path.relative_to(ROOT)}: {lines} > {limit}")
    assert too_long == []


def test_the_top_level_holds_only_the_composition_and_the_faces_entry_points():
    """Everything else lives in the package of its flow (docs/architecture.md)."""
    top = {p.name for p in (ROOT / "lora_manager").glob("*.py")}
    assert top == {"__init__.py", "__main__.py", "app.py", "settings.py", "errors.py", "events.py"}
    assert (ROOT / "lora_manager" / "cli" / "__init__.py").is_file()  # the command line: a package of its own


def test_the_tab_waits_for_every_part_of_its_view():
    """lora_manager_tab.js mounts once PARTS files have queued their part of the view: a file added
    without raising PARTS lets the view start with methods missing."""
    import re

    js = ROOT / "javascript"
    parts = [p.name for p in sorted(js.glob("*.js")) if "(LM.viewParts = LM.viewParts || []).push(" in p.read_text()]
    declared = int(re.search(r"const PARTS = (\d+);", (js / "lora_manager_tab.js").read_text()).group(1))
    assert len(parts) == declared, parts


def test_browser_waits_are_given_as_functions():
    """Playwright evals a string predicate again on every poll after the first, and the tab's CSP forbids
    eval: a wait whose condition is not true at once then fails (CI saw it). A function is evaluated once."""
    import re

    loose = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for m in re.finditer(r"wait_for_function\(\s*(['\"])(.*?)\1", path.read_text(encoding="utf-8")):
            if not re.match(r"\(?\s*(\(|\w+\s*=>|function\b)", m.group(2)):
                loose.append(f"{path.name}: {m.group(2)[:60]}")
    assert loose == []
