"""Deferred heavy imports (standalone server only): a placeholder until used, then the real module.

Each test runs in its own interpreter: the deferral changes that process's imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_gradio_and_the_tab_build_without_loading_pandas_matplotlib_or_altair():
    pytest.importorskip("gradio")
    out = _run("""
        import sys
        from lora_manager.standalone.deferred import defer, Placeholder
        assert defer() == ["pandas", "matplotlib", "altair"]
        from lora_manager.ui.tab import build_tab
        build_tab(mode="standalone")
        loaded = sorted(k for k, m in sys.modules.items()
                        if k.split(".")[0] in ("pandas", "matplotlib", "altair") and not isinstance(m, Placeholder))
        print(loaded)
    """)
    assert out.strip() == "[]"


def test_a_deferred_package_loads_on_first_use_and_then_behaves_as_itself():
    pytest.importorskip("pandas")
    out = _run("""
        import sys
        from lora_manager.standalone.deferred import defer, Placeholder
        defer(("pandas",))
        import pandas as pd
        from pandas.api.types import is_numeric_dtype
        assert isinstance(sys.modules["pandas"], Placeholder)
        frame = pd.DataFrame({"a": [1, 2]})           # first use: the real package loads
        assert not isinstance(sys.modules["pandas"], Placeholder)
        assert isinstance(frame, pd.DataFrame)        # through the placeholder, the real class
        assert is_numeric_dtype(frame["a"])           # a name taken before the load
        import pandas
        assert pandas.DataFrame is type(frame) and pandas.__version__
        print("ok")
    """)
    assert out.strip() == "ok"


def test_nothing_is_deferred_that_is_already_imported_or_missing():
    out = _run("""
        import json
        from lora_manager.standalone.deferred import defer
        print(defer(("json", "no_such_package_here")))
    """)
    assert out.strip() == "[]"
