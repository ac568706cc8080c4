"""Realistic synthetic LoRA libraries for the `--demo` flag, tests and benchmarks.

Files are real safetensors (8-byte little-endian header length, JSON header
padded with spaces to a multiple of 8, tensor data) with kohya / LyCORIS /
PEFT tensor names whose shapes match their base family (sd1, sd2, xl, f1),
kohya `ss_*` metadata (`sshs_model_hash` is the true tensor-data SHA-256),
sidecars in every dialect of docs/formats.md, previews, and a few broken
files. No torch; tensor bytes come from a masked random pool (every float
finite, |x| < 2) mixed with a per-file key, so each file hashes differently.
"""

# The generator's names that tests and benchmarks use, gathered from the modules that own them.
from .words import make_concept  # noqa: F401
from .meta import kohya_metadata  # noqa: F401
from .tensors import (  # noqa: F401
    DTYPE_SIZES, FAMILIES, NETWORKS, _SIGNATURE, build_tensors, fit_modules, kohya_tensors, layout, peft_tensors,
    write_safetensors,
)
from .files import generate_library, merge_counts  # noqa: F401
from .sample import demo_library  # noqa: F401
