"""Header metadata of synthetic LoRAs: kohya `ss_*`, modelspec, ssmd.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import random

from .images import png_bytes
from .words import _CUBES, Concept, booru_tags, make_concept, quick_sample

# --------------------------------------------------------------------------- metadata

BASES = {  # family -> [(Civitai base-model label, ss_sd_model_name, weight)]
    "sd1": [("SD 1.5", "v1-5-pruned-emaonly.safetensors", 4), ("SD 1.5", "anything-v5-PrtRE.safetensors", 2),
            ("SD 1.5", "AOM3A1B_orangemixs.safetensors", 1), ("SD 1.5", "realisticVisionV51_v51VAE.safetensors", 2)],
    "sd2": [("SD 2.1", "v2-1_768-ema-pruned.safetensors", 3), ("SD 2.0", "512-base-ema.safetensors", 1)],
    "xl": [("SDXL 1.0", "sd_xl_base_1.0.safetensors", 4),
           ("Pony", "ponyDiffusionV6XL_v6StartWithThisOne.safetensors", 4),
           ("Illustrious", "illustriousXL_v01.safetensors", 3),
           ("NoobAI", "noobaiXLNAIXL_vPred10Version.safetensors", 2),
           ("SDXL 1.0", "juggernautXL_v9Rdphoto2Lightning.safetensors", 1)],
    "f1": [("Flux.1 D", "flux1-dev.safetensors", 4), ("Flux.1 D", "flux1-dev-fp8.safetensors", 2),
           ("Flux.1 S", "flux1-schnell.safetensors", 1)],
}
BASE_VERSION = {"sd1": "sd_v1", "sd2": "sd_v2", "xl": "sdxl_base_v1-0", "f1": "flux1"}
ARCHITECTURE = {"sd1": "stable-diffusion-v1", "sd2": "stable-diffusion-v2-768-v", "xl": "stable-diffusion-xl-v1-base",
                "f1": "flux-1-dev"}
RESOLUTION = {"sd1": 512, "sd2": 768, "xl": 1024, "f1": 1024}


def tag_frequency(rng: random.Random, concept: Concept, first_dir: str, n_images: int, target_bytes: int,
                  family: str = "xl") -> dict[str, dict[str, int]]:
    """kohya `{dataset_dir: {tag: count}}`; about `target_bytes` once JSON-encoded."""
    vocab = booru_tags()
    n_total = max(20, int(target_bytes / 16.5))  # '"blue hair": 12, ' ~ 16.5 bytes
    n_dirs = 1 if n_total < 500 else max(-(-n_total // len(vocab)), rng.choice((1, 2, 2, 3)))
    dirs = [first_dir] + [f"{rng.choice((1, 2, 3, 5))}_{concept.triggers[0]} {extra}"
                          for extra in rng.sample(("outfit", "closeup", "alt", "night", "extra"), n_dirs - 1)]
    out = {}
    for d in dirs:
        n = max(1, n_images // len(dirs))
        tags = quick_sample(rng, "booru", vocab, n_total // n_dirs)
        freq = {concept.triggers[0]: n, concept.class_word: n}
        if family == "f1":  # flux captions are sentences: kohya counts each as one "tag"
            freq.update({f"a photo of {concept.triggers[0]} with {t}": 1 for t in tags[:8]})
        off = rng.randrange(len(_CUBES) - len(tags))
        freq.update(zip(tags, [int(n * x) + 1 for x in _CUBES[off:off + len(tags)]], strict=False))
        out[d] = freq
    return out


def _network_meta(family: str, network: str, rank: int, alpha: str, conv: bool) -> tuple[str, dict | None]:
    if network in ("lora", "locon"):
        module = "networks.lora_flux" if family == "f1" else "networks.lora"
        return module, ({"conv_dim": str(rank), "conv_alpha": alpha} if conv or network == "locon" else None)
    args = {"algo": "lora" if network == "dora" else network, "preset": "full", "dropout": "0.0",
            "conv_dim": str(rank) if conv else "0", "conv_alpha": alpha if conv else "0"}
    if network == "lokr":
        args["factor"] = "-1"
    if network == "dora":
        args["dora_wd"] = "True"
    return "lycoris.kohya", args


def kohya_metadata(rng: random.Random, family: str, name: str, *, concept: Concept | None = None,
                   network: str = "lora", rank: int = 4, alpha: float | None = None, conv: bool = False,
                   model_hash: str | None = None, sd_model: str | None = None, label: str | None = None,
                   finished_at: int | None = None, tag_bytes: int = 20_000, modelspec: bool = False,
                   ssmd: bool = False, unet_only: bool = False) -> dict[str, str]:
    """About 60-70 `ss_*` keys as sd-scripts writes them, plus optional `modelspec.*` / `ssmd_*`."""
    concept = concept or make_concept(rng, name=name)
    label, sd_model = (label, sd_model) if sd_model else rng.choice(BASES[family])[:2]
    alpha_s = (f"{alpha if alpha is not None else rank:g}" if rng.random() < 0.5
               else f"{float(alpha if alpha is not None else rank)}")
    res = RESOLUTION[family]
    n_img, repeats, epochs, batch = (rng.randrange(12, 160), rng.choice((1, 2, 5, 10, 20)), rng.randrange(4, 21),
                                     rng.choice((1, 2, 4)))
    per_epoch = -(-n_img * repeats // batch)
    epoch = rng.choice((epochs, epochs, rng.randrange(1, epochs + 1)))
    finished = float(finished_at or rng.randrange(1_672_531_200, 1_748_736_000)) + rng.random()
    started = finished - per_epoch * epochs * rng.uniform(0.4, 3.0)
    first_dir = f"{repeats}_{concept.triggers[0]} {concept.class_word}"
    freq = tag_frequency(rng, concept, first_dir, n_img, tag_bytes, family)
    module, net_args = _network_meta(family, network, rank, alpha_s, conv)
    lr = rng.choice(("0.0001", "0.0002", "0.0005", "1.0"))
    md = {
        "ss_session_id": str(rng.randrange(2**31)), "ss_training_started_at": repr(started),
        "ss_output_name": name, "ss_learning_rate": lr, "ss_text_encoder_lr": "None" if unet_only else "5e-05",
        "ss_unet_lr": lr, "ss_num_train_images": str(n_img * repeats), "ss_num_reg_images": "0",
        "ss_num_batches_per_epoch": str(per_epoch), "ss_num_epochs": str(epochs),
        "ss_gradient_checkpointing": "True", "ss_gradient_accumulation_steps": "1",
        "ss_max_train_steps": str(per_epoch * epochs), "ss_lr_warmup_steps": "0",
        "ss_lr_scheduler": rng.choice(("cosine", "constant", "cosine_with_restarts", "linear")),
        "ss_network_module": module, "ss_network_dim": str(rank), "ss_network_alpha": alpha_s,
        "ss_network_dropout": "None", "ss_mixed_precision": rng.choice(("fp16", "bf16")), "ss_full_fp16": "False",
        "ss_v2": str(family == "sd2"),
        "ss_base_model_version": BASE_VERSION[family] + ("_v" if family == "sd2" and "768" in sd_model else ""),
        "ss_clip_skip": "2" if family == "sd1" or label == "Pony" else "None",
        "ss_max_token_length": rng.choice(("225", "None")),
        "ss_cache_latents": "True", "ss_seed": str(rng.randrange(2**31)), "ss_lowram": "False",
        "ss_noise_offset": rng.choice(("None", "0.0357", "0.1")), "ss_multires_noise_iterations": "None",
        "ss_multires_noise_discount": "0.3", "ss_adaptive_noise_scale": "None", "ss_zero_terminal_snr": "False",
        "ss_training_comment": rng.choice(("None", f"trigger: {concept.triggers[0]}", concept.description)),
        "ss_sd_scripts_commit_hash": rng.randbytes(20).hex(),
        "ss_optimizer": rng.choice(("bitsandbytes.optim.adamw.AdamW8bit(weight_decay=0.1)",
                                    "prodigyopt.prodigy.Prodigy(decouple=True,use_bias_correction=True)",
                                    "transformers.optimization.Adafactor(relative_step=False)")),
        "ss_max_grad_norm": "1.0", "ss_caption_dropout_rate": "0.0", "ss_caption_dropout_every_n_epochs": "0",
        "ss_caption_tag_dropout_rate": "0.0", "ss_face_crop_aug_range": "None", "ss_prior_loss_weight": "1.0",
        "ss_min_snr_gamma": rng.choice(("None", "5.0")), "ss_scale_weight_norms": "None", "ss_ip_noise_gamma": "None",
        "ss_debiased_estimation": "False", "ss_loss_type": "l2", "ss_huber_schedule": "snr", "ss_huber_c": "0.1",
        "ss_fp8_base": str(family == "f1"), "ss_sd_model_name": sd_model, "ss_vae_name": "None",
        "ss_new_sd_model_hash": hashlib.sha256(sd_model.encode()).hexdigest(),
        "ss_sd_model_hash": hashlib.sha256(sd_model.encode()[::-1]).hexdigest()[:8],
        "ss_resolution": f"({res}, {res})", "ss_enable_bucket": "True", "ss_min_bucket_reso": "256",
        "ss_max_bucket_reso": "2048", "ss_bucket_no_upscale": "True",
        "ss_bucket_info": json.dumps({"buckets": {"0": {"resolution": [res * 13 // 16, res * 19 // 16],
                                                        "count": n_img * repeats}}, "mean_img_ar_error": 0.02}),
        "ss_keep_tokens": "1", "ss_shuffle_caption": "True", "ss_color_aug": "False", "ss_flip_aug": "False",
        "ss_random_crop": "False", "ss_batch_size_per_device": str(batch), "ss_total_batch_size": str(batch),
        "ss_tag_frequency": json.dumps(freq),
        "ss_dataset_dirs": json.dumps({d: {"n_repeats": repeats, "img_count": n_img // len(freq)} for d in freq}),
        "ss_reg_dataset_dirs": "{}", "ss_epoch": str(epoch), "ss_steps": str(per_epoch * epoch),
        "ss_training_finished_at": repr(finished),
    }
    if net_args is not None:
        md["ss_network_args"] = json.dumps(net_args)
    if family == "f1":
        md.update({"ss_apply_t5_attn_mask": "False", "ss_t5xxl_max_token_length": "512", "ss_guidance_scale": "1.0",
                   "ss_timestep_sampling": "shift", "ss_model_prediction_type": "raw",
                   "ss_discrete_flow_shift": "3.1582"})
    if rng.random() < 0.35:  # dataset-config runs also describe each subset
        subsets = [{"img_count": n_img // len(freq), "num_repeats": repeats, "color_aug": False, "flip_aug": False,
                    "random_crop": False, "shuffle_caption": True, "keep_tokens": 1, "image_dir": d,
                    "class_tokens": d.split("_", 1)[1], "is_reg": False} for d in freq]
        md["ss_datasets"] = json.dumps([{"is_dreambooth": True, "batch_size_per_device": batch,
                                         "num_train_images": n_img * repeats,
                                         "num_reg_images": 0, "resolution": [res, res], "enable_bucket": True,
                                         "min_bucket_reso": 256, "max_bucket_reso": 2048, "subsets": subsets}])
    if model_hash is not None:
        md["sshs_model_hash"] = model_hash
    if modelspec:
        md.update(modelspec_metadata(rng, family, concept, network, finished))
    if ssmd:
        md.update(ssmd_metadata(rng, concept))
    return md


def modelspec_metadata(rng: random.Random, family: str, concept: Concept, network: str, when: float) -> dict[str, str]:
    res = RESOLUTION[family]
    md = {"modelspec.sai_model_spec": "1.0.0",
          "modelspec.architecture": f"{ARCHITECTURE[family]}/{'lycoris' if network in ('loha', 'lokr') else 'lora'}",
          "modelspec.implementation": ("https://github.com/black-forest-labs/flux" if family == "f1"
                                       else "https://github.com/Stability-AI/generative-models"),
          "modelspec.title": concept.name, "modelspec.author": concept.author,
          "modelspec.description": concept.description,
          "modelspec.date": _dt.datetime.fromtimestamp(int(when), _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
          "modelspec.resolution": f"{res}x{res}", "modelspec.prediction_type": "epsilon",
          "modelspec.trigger_phrase": ", ".join(concept.triggers), "modelspec.tags": ", ".join(concept.tags[:4]),
          "modelspec.usage_hint": f"Use '{concept.triggers[0]}' at weight 0.8",
          "modelspec.license": "CreativeML OpenRAIL-M"}
    if rng.random() < 0.2:
        md["modelspec.thumbnail"] = ("data:image/png;base64,"
                                     + base64.b64encode(png_bytes(8, 8, (200, 120, 80))).decode())
    return md


def ssmd_metadata(rng: random.Random, concept: Concept) -> dict[str, str]:
    return {"ssmd_display_name": concept.name, "ssmd_author": concept.author, "ssmd_description": concept.description,
            "ssmd_keywords": ", ".join(concept.triggers), "ssmd_tags": ", ".join(concept.tags[:5]),
            "ssmd_rating": str(rng.randrange(6)),
            "ssmd_source": f"https://civitai.com/models/{rng.randrange(10**4, 10**6)}",
            "ssmd_version": f"{rng.randrange(1, 4)}.0", "ssmd_cover_images": "[]"}


def other_metadata(rng: random.Random, kind: str, family: str, concept: Concept, rank: int) -> dict[str, str] | None:
    """Metadata of non-kohya writers: none at all, PEFT's `{"format": "pt"}`, or ai-toolkit's."""
    if kind == "none":
        return None
    if kind == "pt":
        return {"format": "pt"}
    return {"format": "pt", "name": concept.slug, "version": "1.0",
            "software": json.dumps({"name": "ai-toolkit", "repo": "https://github.com/ostris/ai-toolkit",
                                    "version": "0.1.0"}),
            "training_info": json.dumps({"step": rng.randrange(500, 4000), "epoch": rng.randrange(1, 20)}),
            "ss_base_model_version": BASE_VERSION[family], "ss_output_name": concept.slug,
            "ss_network_dim": str(rank), "modelspec.title": concept.name,
            "modelspec.trigger_phrase": concept.triggers[0]}
