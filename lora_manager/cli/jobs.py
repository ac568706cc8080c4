"""`jobs list|show|submit|cancel`: generation jobs on a running server (SDNext with the extension), through the
REST API (cli/remote.py). A job is txt2img, img2img or control with a LoRA stack, a recipe by id, a weight sweep,
or preview generation for LoRAs; `--wait` follows it to the end. Files given as init or control images are
uploaded first (POST /generation/init-images)."""

from __future__ import annotations

import os
import re
import sys
import time
from typing import Any

import orjson

from ..jobs.request import IMAGE_REF, KINDS
from .remote import Remote, RemoteError, add_flags

DONE = ("done", "failed", "cancelled")
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
# flag -> the job's field, for the settings given on the command line (the others: the server's defaults)
FIELDS = {"prompt": "prompt", "negative": "negative_prompt", "steps": "steps", "width": "width", "height": "height",
          "seed": "seed", "cfg": "cfg_scale", "sampler": "sampler", "batch": "batch_size",
          "denoise": "denoising_strength", "resize_mode": "resize_mode", "control_model": "control_model",
          "control_strength": "control_strength"}


def add_commands(sub) -> None:
    p = sub.add_parser("jobs", help="generation jobs on a running server (SDNext with the extension): list, show, "
                                    "submit, cancel")
    inner = p.add_subparsers(dest="jobs_command", required=True)
    ls = inner.add_parser("list", help="jobs, newest first")
    add_flags(ls)
    ls.add_argument("--limit", type=int, default=50)
    show = inner.add_parser("show", help="one job: its settings, progress, result images")
    add_flags(show)
    show.add_argument("id")
    show.add_argument("--wait", action="store_true", help="wait until it has finished")
    show.add_argument("--save", metavar="DIR", help="download its result images into DIR")
    cancel = inner.add_parser("cancel", help="cancel jobs (a running one stops at its next step, leaving no image)")
    add_flags(cancel)
    cancel.add_argument("ids", nargs="+", metavar="ID")
    s = inner.add_parser("submit", help="queue a job (a LoRA stack, a recipe, a weight sweep, previews)")
    add_flags(s)
    s.add_argument("--kind", choices=KINDS, default="txt2img")
    s.add_argument("--prompt", "-p")
    s.add_argument("--negative", help="the negative prompt")
    s.add_argument("--lora", action="append", default=[], metavar="KEY[:WEIGHT]",
                   help="a LoRA of the stack: id, prompt name, file name or hash, and its weight (repeatable)")
    for flag, kind, text in (("steps", int, None), ("width", int, None), ("height", int, None),
                             ("seed", int, "-1: random"), ("cfg", float, "CFG scale"), ("sampler", str, None),
                             ("batch", int, "images per job")):
        s.add_argument(f"--{flag}", type=kind, help=text)
    s.add_argument("--add-triggers", action="store_true", help="append the LoRAs' trigger words to the prompt")
    s.add_argument("--init-image", metavar="FILE|REF", help="img2img: an image file (uploaded) or job:ID/N")
    s.add_argument("--denoise", type=float, help="img2img: denoising strength, 0..1")
    s.add_argument("--resize-mode", type=int, help="img2img: 0 none, 1 fixed, 2 crop, 3 fill, 4 outpaint")
    s.add_argument("--control-image", metavar="FILE|REF", help="control: the control image (a file or job:ID/N)")
    s.add_argument("--control-model", help="control: one of the host's control models")
    s.add_argument("--control-strength", type=float)
    s.add_argument("--recipe", type=int, metavar="ID", help="run a saved recipe (its prompt, stack and settings)")
    s.add_argument("--sweep", metavar="KEY:W1,W2,...", help="a weight sweep: one job per weight of this LoRA")
    s.add_argument("--sweep-y", metavar="KEY:W1,W2,...", help="an X/Y sweep: the rows are this LoRA's weights")
    s.add_argument("--seeds", metavar="S1,S2,...", help="a sweep's rows: one per seed")
    s.add_argument("--previews", nargs="*", metavar="KEY",
                   help="generate previews for these LoRAs (none named: every LoRA without a preview)")
    s.add_argument("--replace", action="store_true", help="previews: also LoRAs that have one")
    s.add_argument("--wait", action="store_true", help="wait until the jobs have finished; exit 1 if one failed")


def run(args) -> int:
    try:
        with Remote(args.url, args.api_key, args.auth) as remote:
            return COMMANDS[args.jobs_command](remote, args)
    except (RemoteError, ValueError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        if args.json:
            sys.stdout.write(orjson.dumps({"error": {"message": message}}).decode() + "\n")
        else:
            print(f"error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped waiting (the jobs go on: jobs cancel ID stops one)", file=sys.stderr)
        return 130


def _emit(args, data: Any, text: str) -> None:
    print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() if args.json else text)


# ---------------------------------------------------------------------------------------------- reading
def _stack(job: dict[str, Any]) -> str:
    return " ".join(f"<{lo.get('name')}:{lo['weight']:g}>" if lo.get("weight") is not None else f"<{lo.get('name')}>"
                    for lo in job.get("loras") or [])


def _row(job: dict[str, Any]) -> str:
    p = job.get("progress") or {}
    step = f"{p.get('step', 0)}/{p.get('total', 0)}" if job["status"] == "running" else ""
    prompt = " ".join((job.get("prompt") or "").split())
    prompt = prompt if len(prompt) <= 50 else prompt[:47] + "..."
    kind = job.get("kind", "txt2img")
    return f"{job['id']}  {job['status']:<9} {kind:<8} {step:>7}  {prompt}  {_stack(job)}".rstrip()


def _detail(job: dict[str, Any]) -> str:
    p = job.get("progress") or {}
    lines = [f"{'id':>10}: {job['id']}", f"{'status':>10}: {job['status']}"
             + (f" (step {p.get('step')}/{p.get('total')})" if job["status"] == "running" else ""),
             f"{'kind':>10}: {job.get('kind', 'txt2img')}", f"{'prompt':>10}: {job.get('prompt') or ''}"]
    if job.get("negative_prompt"):
        lines.append(f"{'negative':>10}: {job['negative_prompt']}")
    if job.get("loras"):
        lines.append(f"{'loras':>10}: {_stack(job)}")
    lines.append(f"{'size':>10}: {job['width']}x{job['height']}, {job['steps']} steps, seed {job['seed']}")
    for key in ("init_image", "control_image", "control_model", "group", "host"):
        if job.get(key):
            lines.append(f"{key.replace('_', ' '):>10}: {job[key]}")
    if job.get("error"):
        lines.append(f"{'error':>10}: {job['error']}")
    lines += [f"{'warning':>10}: {w}" for w in job.get("warnings") or []]
    images = (job.get("result") or {}).get("images") or []
    if images:
        lines.append(f"{'images':>10}: {len(images)} (jobs show {job['id']} --save DIR)")
    return "\n".join(lines)


def cmd_list(remote: Remote, args) -> int:
    jobs = remote.call("GET", "/jobs")[:max(0, args.limit)]
    _emit(args, jobs, "\n".join(_row(j) for j in jobs) if jobs else "no jobs")
    return 0


def cmd_show(remote: Remote, args) -> int:
    job = _wait(remote, [args.id])[0] if args.wait else remote.call("GET", f"/jobs/{args.id}")
    text = _detail(job)
    if args.save:
        saved = _save(remote, job, args.save)
        job = {**job, "saved": saved}
        text += "".join(f"\n{'saved':>10}: {path}" for path in saved)
    _emit(args, job, text)
    return 1 if args.wait and job["status"] != "done" else 0


def _save(remote: Remote, job: dict[str, Any], folder: str) -> list[str]:
    os.makedirs(folder, exist_ok=True)
    out = []
    for i in range(len((job.get("result") or {}).get("images") or [])):
        data = remote.call("GET", f"/jobs/{job['id']}/images/{i}")
        path = os.path.join(folder, f"{job['id']}-{i}.png")
        with open(path, "wb") as f:
            f.write(data)
        out.append(path)
    return out


def cmd_cancel(remote: Remote, args) -> int:
    jobs = [remote.call("POST", f"/jobs/{job_id}/cancel") for job_id in args.ids]
    _emit(args, jobs, "\n".join(f"{j['id']}: {j['status']}" for j in jobs))
    return 0


def _wait(remote: Remote, ids: list[str]) -> list[dict[str, Any]]:
    """Each job once it has finished (asked every half second)."""
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(ids):
        for job_id in ids:
            if job_id not in done:
                job = remote.call("GET", f"/jobs/{job_id}")
                if job["status"] in DONE:
                    done[job_id] = job
        if len(done) < len(ids):
            time.sleep(0.5)
    return [done[i] for i in ids]


# ---------------------------------------------------------------------------------------------- submitting
def _lora(text: str) -> dict[str, Any]:
    name, sep, weight = text.rpartition(":")
    if sep and name:
        try:
            return {"name": name, "weight": float(weight)}
        except ValueError:
            pass
    return {"name": text}


def _axis(text: str, flag: str) -> dict[str, Any]:
    name, sep, weights = text.rpartition(":")
    try:
        values = [float(w) for w in weights.split(",") if w.strip()]
    except ValueError:
        values = []
    if not sep or not name or not values:
        raise ValueError(f"{flag} takes KEY:W1,W2,... (a LoRA and its weights), not {text!r}")
    return {"lora": name, "weights": values}


def _image(remote: Remote, value: str | None) -> str | None:
    """A reference as it is; a file is uploaded and its id returned."""
    if value is None or re.match(IMAGE_REF, value):
        return value
    kind = IMAGE_TYPES.get(os.path.splitext(value)[1].lower())
    if kind is None or not os.path.isfile(value):
        raise ValueError(f"{value}: not an image file (PNG, JPEG, WebP) or a result reference (job:ID/N)")
    with open(value, "rb") as f:
        return remote.call("POST", "/generation/init-images", content=f.read(), headers={"content-type": kind})["id"]


def _job(remote: Remote, args) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": args.kind, "loras": [_lora(x) for x in args.lora]}
    body.update({field: getattr(args, flag) for flag, field in FIELDS.items() if getattr(args, flag) is not None})
    if args.add_triggers:
        body["add_triggers"] = True
    for flag in ("init_image", "control_image"):
        if getattr(args, flag):
            body[flag] = _image(remote, getattr(args, flag))
    return body


def cmd_submit(remote: Remote, args) -> int:
    modes = [m for m, on in (("--recipe", args.recipe is not None), ("--previews", args.previews is not None),
                             ("--sweep", bool(args.sweep))) if on]
    if len(modes) > 1:
        raise ValueError(f"give one of {', '.join(modes)}")
    if args.recipe is not None:
        run_ = remote.call("POST", f"/recipes/{args.recipe}/run")
        queued, text = [run_["id"]], f"queued job {run_['id']} (recipe {args.recipe})" + "".join(
            f"\nwarning: {w}" for w in run_.get("warnings") or [])
        data: dict[str, Any] = run_
    elif args.previews is not None:
        body = {"loras": args.previews or None, "replace": args.replace,
                **{k: getattr(args, k) for k in ("steps", "width", "height", "seed") if getattr(args, k) is not None}}
        data = remote.call("POST", "/generation/previews", json=body)
        queued = [q["job"] for q in data["queued"]]
        text = "\n".join([f"queued job {q['job']}: preview of {q['lora']}" for q in data["queued"]]
                         + [f"skipped {s['lora']}: {s['reason']}" for s in data["skipped"]]) or "nothing to do"
    elif args.sweep:
        body = {"job": _job(remote, args), "x": _axis(args.sweep, "--sweep")}
        if args.sweep_y:
            body["y"] = _axis(args.sweep_y, "--sweep-y")
        if args.seeds:
            body["seeds"] = [int(s) for s in args.seeds.split(",") if s.strip()]
        data = remote.call("POST", "/generation/sweeps", json=body)
        queued = [j for row in data["jobs"] for j in row]
        text = f"queued sweep {data['id']}: {len(queued)} job(s), columns {', '.join(data['columns'])}, " \
               f"rows {', '.join(data['rows'])}"
    else:
        data = remote.call("POST", "/jobs", json=_job(remote, args))
        queued, text = [data["id"]], f"queued job {data['id']}"
    if not args.wait:
        _emit(args, data, text)
        return 0
    jobs = _wait(remote, queued)
    if args.sweep:
        data = remote.call("GET", f"/generation/sweeps/{data['id']}")
    _emit(args, {"submitted": data, "jobs": jobs}, "\n".join([text, *(_row(j) + (f"  {j['error']}" if j.get("error")
                                                                                   else "") for j in jobs)]))
    return 0 if all(j["status"] == "done" for j in jobs) else 1


COMMANDS = {"list": cmd_list, "show": cmd_show, "cancel": cmd_cancel, "submit": cmd_submit}
