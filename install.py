"""SDNext / A1111 run this at a full start: install only what LoRA Manager needs and the host lacks.

Never touches torch, gradio, fastapi or pydantic: those are the host's.
Runs as a subprocess with the host root on PYTHONPATH (see HOST_CONTRACT).
"""

import os

import launch  # the host's module; importing it is how hosts expect install.py to work

# (import name, pip requirement) — the host already ships safetensors, tqdm and uvicorn.
REQUIREMENTS = [
    ("sqlalchemy", "SQLAlchemy>=2.0,<2.2"),
    ("alembic", "alembic>=1.13"),
    ("orjson", "orjson>=3.9"),
    ("safetensors", "safetensors>=0.4"),
    ("tqdm", "tqdm>=4.66"),
]
if os.environ.get("LORA_MANAGER_DB", "").startswith("postgres"):
    REQUIREMENTS.append(("psycopg", "psycopg[binary]>=3.1"))

for module, requirement in REQUIREMENTS:
    if not launch.is_installed(module):
        launch.run_pip(f"install \"{requirement}\"", f"LoRA Manager requirement: {requirement}")
