"""README.md is for users, and every command and setting it names is real.

The run command itself is run from a fresh clone by .ci/smoke, and the test command by .ci/run;
here each command line parses with the real parser, each setting is one the code reads, each
documented setting is in the README, and each link points at a file in the repository.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from lora_manager.cli import _join_sort, parser
from lora_manager.settings import DOCUMENTED

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_two_commands_come_first():
    commands = _commands()
    assert commands[0] == "./bin/lora-manager serve --demo" and "./bin/test" in commands
    assert (ROOT / "bin" / "lora-manager").stat().st_mode & 0o111 and (ROOT / "bin" / "test").stat().st_mode & 0o111
    smoke = (ROOT / ".ci" / "smoke").read_text()
    assert "./bin/lora-manager serve --demo" in smoke and "bash .ci/smoke" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("line", [c for c in _commands() if c.startswith("./bin/lora-manager")])
def test_every_command_line_parses(line):
    args = shlex.split(line)[1:]
    parsed = parser().parse_args(_join_sort(args))
    assert parsed.command in {"serve", "scan", "list", "show"}


def test_every_setting_is_real_and_every_real_one_is_documented():
    named = set(re.findall(r"`(LORA_MANAGER_[A-Z_]+)`", README))
    real = {env for env, _ in DOCUMENTED.values()}
    assert real <= named, f"settings missing from README: {real - named}"
    readers = "".join((ROOT / f).read_text() for f in ("bin/lora-manager", "bin/test", "tests/conftest.py",
                                                       "tests/browser.py"))
    assert {n for n in named - real if n not in readers} == set(), "README names settings nothing reads"


def test_links_point_at_files_that_exist():
    for target in re.findall(r"\]\(((?!https?:)[^)#]+)", README):
        assert (ROOT / target).exists(), target
