"""The interface text is one table (javascript/lora_manager_i18n.js): every key the tab's files ask for is in it,
and the Simplified Chinese table has exactly the English keys."""

from __future__ import annotations

import re
from pathlib import Path

JS = Path(__file__).resolve().parent.parent / "javascript"
KEY = re.compile(r"'([a-z_]+\.[a-z_]+)':")
USED = re.compile(r"\bt\('([a-z_]+\.[a-z_]+)'")


def _tables() -> tuple[set[str], set[str]]:
    text = (JS / "lora_manager_i18n.js").read_text(encoding="utf-8")
    en, zh = text.split("const en = {", 1)[1].split("const zh = {", 1)
    zh = zh.split("const tables", 1)[0]
    return set(KEY.findall(en)), set(KEY.findall(zh))


def test_chinese_has_every_english_key():
    en, zh = _tables()
    assert len(en) > 150
    assert sorted(en - zh) == [] and sorted(zh - en) == []


def test_every_key_the_tab_uses_is_in_the_table():
    en, _ = _tables()
    used = set()
    for path in JS.glob("*.js"):
        used |= set(USED.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 100
    assert sorted(used - en) == []
