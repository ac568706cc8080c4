"""The interface text is one table (javascript/lora_manager_i18n.js and its other files, lora_manager_i18n_*.js):
every key the tab's files ask for is in it, in English and in Simplified Chinese, the two languages have the same
keys and the same {placeholders}, and no key of the table goes unused."""

from __future__ import annotations

import re
from pathlib import Path

JS = Path(__file__).resolve().parent.parent / "javascript"
ENTRY = re.compile(r"'([a-z_]+\.[a-z0-9_]+)':\s*'((?:[^'\\]|\\.)*)'")
USED = re.compile(r"\bt\('([a-z_]+\.[a-z0-9_]+)'")
QUOTED = re.compile(r"'([a-z_]+\.[a-z0-9_]+)'")
DYNAMIC = re.compile(r"\bt\(`([a-z_]+\.[a-z0-9_]*)\$\{")
PREFIX = re.compile(r"\bword\('([a-z_]+\.[a-z0-9_]*_)'")  # word('data.part_', p): the key is built from a server's word
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _table_files() -> list[Path]:
    return sorted(JS.glob("lora_manager_i18n*.js"))


def _code_files() -> list[Path]:
    return [p for p in sorted(JS.glob("*.js")) if p not in _table_files()]


def _code() -> list[str]:
    """The text of every file of the tab that asks for words: the code files, and the table's own code (dates)."""
    texts = [p.read_text(encoding="utf-8") for p in _code_files()]
    own = (JS / "lora_manager_i18n.js").read_text(encoding="utf-8")
    texts.append(own.split("const en = {", 1)[0] + own.split("const tables", 1)[1])
    return texts


def _tables() -> tuple[dict[str, str], dict[str, str]]:
    en: dict[str, str] = {}
    zh: dict[str, str] = {}
    for path in _table_files():
        text = path.read_text(encoding="utf-8")
        english, chinese = text.split("const en = {", 1)[1].split("const zh = {", 1)
        for table, part in ((en, english.split("\n  };", 1)[0]), (zh, chinese.split("\n  };", 1)[0])):
            for key, value in ENTRY.findall(part):
                assert key not in table, f"{key} twice ({path.name})"
                table[key] = value
    return en, zh


def test_the_tables_file_list_matches_the_files():
    names = re.search(r"TABLE_PARTS = \[([^\]]*)\]", (JS / "lora_manager_i18n.js").read_text(encoding="utf-8")).group(1)
    listed = sorted(re.findall(r"'(\w+)'", names))
    files = sorted(p.stem.removeprefix("lora_manager_i18n_") for p in JS.glob("lora_manager_i18n_*.js"))
    assert listed == files
    for name in files:
        assert f"name: '{name}'" in (JS / f"lora_manager_i18n_{name}.js").read_text(encoding="utf-8")


def test_chinese_has_every_english_key_with_the_same_placeholders():
    en, zh = _tables()
    assert len(en) > 500
    assert sorted(set(en) - set(zh)) == [] and sorted(set(zh) - set(en)) == []
    differ = [k for k in en if sorted(PLACEHOLDER.findall(en[k])) != sorted(PLACEHOLDER.findall(zh[k]))]
    assert differ == []


def test_every_key_the_tab_uses_is_in_the_table():
    en, _ = _tables()
    used: set[str] = set()
    prefixes: set[str] = set()
    for text in _code():
        used |= set(USED.findall(text))
        prefixes |= set(DYNAMIC.findall(text)) | set(PREFIX.findall(text))
    assert len(used) > 400
    assert sorted(used - set(en)) == []
    # a key built at run time (t(`show.${v}`)): its prefix names keys of the table
    assert sorted(p for p in prefixes if not any(k.startswith(p) for k in en)) == []


def test_no_key_of_the_table_goes_unused():
    en, _ = _tables()
    quoted: set[str] = set()
    prefixes: set[str] = set()
    for text in _code():
        quoted |= set(QUOTED.findall(text))
        prefixes |= set(DYNAMIC.findall(text)) | set(PREFIX.findall(text))
    unused = [k for k in en if k not in quoted and not any(k.startswith(p) for p in prefixes)]
    assert unused == []


def test_no_file_of_the_tab_keeps_an_english_fallback():
    """The old way, tr('key', 'English'), kept words out of the table."""
    offenders = [p.name for p in _code_files() if re.search(r"\btr\('", p.read_text(encoding="utf-8"))]
    assert offenders == []
