"""The command line (`lora-manager`, `python -m lora_manager`): `parser.py` the arguments, `main.py` the entry
point and the command table, `library.py` the library's commands, `roots.py` settings and remembered roots,
`output.py` text or JSON, `jobs.py` and `remote.py` generation jobs on a running server. Each package adds its
own commands (catalog, civitai, transfer, recipes: their `cli.py`)."""

from .main import _join_sort, main
from .parser import parser

__all__ = ["_join_sort", "main", "parser"]
