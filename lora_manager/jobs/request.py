"""What a generation job asks for: the one declaration of its shape (the API's JobCreate derives from it) and the
pure checks every face shares. txt2img, img2img (an init image) and control (a control image and one of the
control models the host lists) go through the host's own pipelines (docs/host.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..catalog.userdata import TEXT
from ..errors import InvalidInput

MAX_PROMPT = 10_000
MAX_LORAS = 32  # LoRAs in one job's stack
SIDE = {"ge": 64, "le": 4096, "multiple_of": 8}  # width, height
KINDS = ("txt2img", "img2img", "control")
# An image a job starts from: an upload's id (POST /generation/init-images) or a previous job's result image.
IMAGE_REF = r"^(?:[0-9a-f]{32}|job:[0-9a-f]{12}/[0-9]{1,3})$"
# SDNext's resize modes for img2img (processing's resize_mode): 0 none, 1 fixed, 2 crop, 3 fill, 4 outpaint
RESIZE_MODES = 4


@dataclass(slots=True)
class JobRequest:
    """A job as asked. The metadata hold what the API accepts (api/schemas.py builds JobCreate from them);
    `validate_request` checks the rest for every face."""

    prompt: str = field(default="", metadata={"max_length": MAX_PROMPT, "pattern": TEXT})
    negative_prompt: str = field(default="", metadata={"max_length": MAX_PROMPT, "pattern": TEXT})
    # [{"name", "weight"?}]
    loras: list[dict[str, Any]] = field(default_factory=list, metadata={"max_length": MAX_LORAS})
    steps: int = field(default=20, metadata={"ge": 1, "le": 150})
    width: int = field(default=512, metadata=SIDE)
    height: int = field(default=512, metadata=SIDE)
    seed: int = field(default=-1, metadata={"ge": -1, "le": 2**32 - 1})
    cfg_scale: float = field(default=6.0, metadata={"ge": 0, "le": 30})
    sampler: str | None = field(default=None, metadata={"max_length": 64, "pattern": TEXT})
    batch_size: int = field(default=1, metadata={"ge": 1, "le": 8})
    add_triggers: bool = field(default=False, metadata={"description": "append the LoRAs' trigger words to the prompt"})
    kind: str = field(default="txt2img", metadata={"pattern": "^(txt2img|img2img|control)$",
                                                   "description": "the host pipeline: txt2img, img2img or control"})
    init_image: str | None = field(default=None, metadata={
        "pattern": IMAGE_REF, "description": "img2img (and control, optionally): an uploaded image's id "
                                             "(POST /generation/init-images) or job:<job id>/<image index>"})
    denoising_strength: float = field(default=0.5, metadata={"ge": 0, "le": 1})
    resize_mode: int = field(default=1, metadata={"ge": 0, "le": RESIZE_MODES,
                                                  "description": "0 none, 1 fixed, 2 crop, 3 fill, 4 outpaint"})
    control_image: str | None = field(default=None, metadata={
        "pattern": IMAGE_REF, "description": "control: the control image, as init_image"})
    control_model: str | None = field(default=None, metadata={
        "max_length": 300, "pattern": TEXT, "description": "control: a model from GET /jobs/control-models"})
    control_strength: float = field(default=1.0, metadata={"ge": 0, "le": 2})
    check_fit: bool = field(default=True, metadata={
        "description": "fail the job before it runs when a LoRA's base does not fit the loaded checkpoint"})
    # Several hosts (LORA_MANAGER_REDIS, docs/shared-jobs.md): where the job may run, and before what.
    host: str | None = field(default=None, metadata={"max_length": 200, "pattern": TEXT,
                                                      "description": "run it on this host only (shared queue)"})
    family: str | None = field(default=None, metadata={"max_length": 32, "pattern": TEXT,
                                                        "description": "on a host whose checkpoint is of this family"})
    priority: str = field(default="user", metadata={"pattern": "^(user|background)$",
                                                    "description": "background jobs wait for every user job"})


def validate_request(data: dict[str, Any]) -> JobRequest:
    """Pure checks beyond the API schema (shared by every face)."""
    req = JobRequest(**data)
    if not req.prompt.strip() and not req.loras:
        raise InvalidInput("give a prompt or at least one LoRA")
    if req.width % 8 or req.height % 8:
        raise InvalidInput("width and height must be multiples of 8")
    if req.kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    if req.kind == "img2img" and not req.init_image:
        raise InvalidInput("an img2img job needs init_image: an upload (POST /generation/init-images) or a result")
    if req.kind == "control" and not (req.control_image and req.control_model):
        raise InvalidInput("a control job needs control_image and control_model (GET /generation/control-models)")
    return req
