"""Names as the host resolves them."""

from __future__ import annotations

import os


def base_name(file_name: str) -> str:
    """`foo.v2.safetensors` -> `foo.v2` (only the last extension goes)."""
    return os.path.splitext(os.path.basename(file_name))[0]


def prompt_name(file_name: str) -> str:
    """The name SDNext resolves in `<lora:NAME>`.

    SDNext keys its registry by the base name with `.` replaced by `_`; the
    `ss_output_name` alias is NOT accepted in a prompt, and sub-folders are
    not part of the name.
    """
    return base_name(file_name).replace(".", "_")
