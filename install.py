"""SDNext / A1111 run this at a full start: install only what LoRA Manager needs and the host lacks.

Never touches torch, gradio, fastapi or pydantic: those are the host's.
Runs as a subprocess with the host root on PYTHONPATH (see docs/host.md).
"""

import os
import shlex
import sys

import launch  # the host's module; importing it is how hosts expect install.py to work

# (import name, pip requirement) — the host already ships safetensors, tqdm and uvicorn.
REQUIREMENTS = [
    ("sqlalchemy", "SQLAlchemy>=2.0,<2.2"),
    ("alembic", "alembic>=1.13"),
    ("orjson", "orjson>=3.9"),
    ("safetensors", "safetensors>=0.4"),
    ("tqdm", "tqdm>=4.66"),
    # Civitai metadata by hash (SDNext ships httpx; the other two are small and pure or one wheel)
    ("httpx", "httpx>=0.24"),
    ("tenacity", "tenacity>=8.2"),
    ("nh3", "nh3>=0.2.14"),
]


def host_args() -> list[str]:
    """The host's command line as far as this process can see it: its own argv (a host running us in
    its process), COMMANDLINE_ARGS (webui-user files) and the parent process's command line (the host
    runs us as its subprocess)."""
    args = list(sys.argv[1:])
    args += shlex.split(os.environ.get("COMMANDLINE_ARGS", ""))
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as fh:
            args += [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except OSError:  # not Linux, or not readable: the other sources stand
        pass
    return args


def flag(args: list[str], name: str) -> str:
    """The last value given to `--name VALUE` or `--name=VALUE`, or ""."""
    value = ""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1:]
    return value


ARGS = host_args()
# A shared library on PostgreSQL needs its driver, the job queue on Redis its client: by flag or setting.
if (flag(ARGS, "--lora-manager-db") or os.environ.get("LORA_MANAGER_DB", "")).startswith("postgres"):
    REQUIREMENTS.append(("psycopg", "psycopg[binary]>=3.1"))
if flag(ARGS, "--lora-manager-redis") or os.environ.get("LORA_MANAGER_REDIS", ""):
    REQUIREMENTS.append(("redis", "redis>=5.0"))

# The recommender's model runs on the host's own torch and transformers: sentence-transformers goes
# in with --no-deps (its pins could move the host's transformers or torch), faiss-cpu asks only for
# numpy. Where they cannot load, the recommender ranks lexically and its status says why.
RECOMMENDER = [
    ("faiss", "faiss-cpu>=1.7.4", ""),
    ("sklearn", "scikit-learn>=1.1", ""),
    ("sentence_transformers", "sentence-transformers>=3.0", "--no-deps "),
]
if os.environ.get("LORA_MANAGER_EMBED_MODEL", "").strip().lower() not in ("off", "none", "0"):
    REQUIREMENTS += [(m, r) for m, r, _ in RECOMMENDER]
FLAGS = {r: f for _, r, f in RECOMMENDER}

for module, requirement in REQUIREMENTS:
    if not launch.is_installed(module):
        launch.run_pip(f"install {FLAGS.get(requirement, '')}\"{requirement}\"",
                       f"LoRA Manager requirement: {requirement}")
