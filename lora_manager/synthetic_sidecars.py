"""The text around a synthetic LoRA: vocabulary, kohya metadata, sidecars, previews, broken files.

Split out of `lora_manager.synthetic` (which re-exports the public names);
nothing here builds tensors. Every function is deterministic for the
`random.Random` it is given. Sidecar dialects follow the shared FORMATS.md:
A1111 and SDNext `<base>.json`, Civitai Helper `.civitai.info`,
civitai-browser-plus `.api_info.json`, ComfyUI-Lora-Manager
`.metadata.json`, Stability Matrix `.cm-info.json`, `.txt`, `.description.txt`.
"""

from __future__ import annotations

import base64
import colorsys
import datetime as _dt
import hashlib
import json
import random
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

import orjson

# --------------------------------------------------------------------------- vocabulary

FIRST = """aurelia kaelin mirae sora yuki lysandra theron vesper isolde rowan kasumi nadia
elowen zephyr marisol ingrid haruto liora cassian selene oriane tamsin ysolde kenji amara
briar calla dorian ember fenna galen hanae iris juniper kiri lumi maeve nerys orrin petra
quill rhea saoirse talia ulla veda wren xanthe yara zadie""".split()
LAST = """ashford starfall nightbloom ironvale duskwind silverleaf morrow halloway emberlyn
frostmere greywater hollowell kestrel larkspur moonbrook northcliff oakheart pemberton
quicksilver ravenscar stormholt thornfield umbervale whitlock yarrow zeller""".split()
SERIES = ["Starfall Academy", "Chrono Drifters", "Azure Requiem", "Mecha Ronin", "Velvet Circus",
          "Lantern Kingdom", "Neon Shrine", "Tidebound", "Hollow Crown", "Paper Moon Saga"]
STYLE_ADJ = """watercolor ink-wash neon-noir pastel cel-shaded oil-painting vaporwave art-nouveau
ukiyo-e low-poly pixel-art chiaroscuro gouache charcoal cyberpunk solarpunk dieselpunk gothic
baroque minimalist retro-anime 90s-anime film-grain polaroid risograph stained-glass papercut
claymation isometric synthwave dreamcore""".split()
STYLE_NOUN = "style aesthetic look dreamscape palette lighting lineart rendering illustration".split()
CLOTHING = ["victorian ballgown", "techwear jacket", "sailor uniform", "kimono", "maid outfit",
            "plate armor", "trench coat", "hanfu", "qipao", "oversized hoodie", "wedding dress",
            "pilot jumpsuit", "witch hat", "school blazer", "knight cape", "denim overalls",
            "lab coat", "bunny suit", "military uniform", "santa costume"]
OBJECTS = ["clockwork owl", "crystal sword", "paper lantern", "mech suit", "vintage camera",
           "spellbook", "glass terrarium", "steam locomotive", "neon sign", "koi pond",
           "bonsai tree", "stained glass window", "hover bike", "treasure chest", "ramen bowl"]
POSES = ["over the shoulder", "sitting on stairs", "hands in pockets", "dynamic jump",
         "reaching out", "lying on bed", "leaning on railing", "back to back", "princess carry",
         "looking up", "kneeling", "walking towards viewer"]
SCENES = ["bioluminescent forest", "floating islands", "rainy window", "liminal space",
          "double exposure", "cozy library", "underwater ruins", "cherry blossom street",
          "desert oasis", "abandoned arcade", "aurora sky", "foggy harbor"]
UNICODE_NAMES = ["夜桜スタイル", "ねこみみ少女", "Zoë Brontë", "Śnieżka", "Øresund Light",
                 "Crème Brûlée", "水墨画", "Ölgemälde", "Сказка", "ดอกไม้", "Ñandú Plumas"]
HANDLES = "pixelmoth neonquill latentfox inkwyrm velvetgrid softprism lorasmith tagwitch".split()
COLORS = """red blue green yellow purple pink orange white black grey brown silver blonde
aqua teal lavender crimson gold""".split()
PARTS = """hair eyes dress shirt skirt jacket background ribbon gloves thighhighs bow nails
footwear headwear kimono bikini cape scarf sweater pantyhose""".split()
GENERAL = """1girl 1boy solo smile looking_at_viewer open_mouth blush simple_background
upper_body full_body outdoors indoors day night sky cloud tree flower holding standing
sitting closed_eyes jewelry earrings necklace hat glasses water city building window
masterpiece best_quality absurdres highres cowboy_shot from_side from_behind portrait
signature watermark depth_of_field blurry_background light_particles sunlight lens_flare
cherry_blossoms snow rain reflection scenery no_humans animal_ears cat_ears fox_ears tail
wings horns halo sword weapon armor boots bare_shoulders collarbone sleeveless long_sleeves
frills lace hair_ornament hairclip headphones parted_lips grin tears looking_away
looking_back arms_up hand_on_hip peace_sign crossed_arms leaning_forward dutch_angle
wide_shot close-up monochrome greyscale sketch traditional_media realistic photorealistic
3d chibi pixel_art flat_color lineart gradient_background white_background black_background
long_hair short_hair twintails ponytail braid bob_cut ahoge hair_bun side_ponytail
very_long_hair bangs blunt_bangs sidelocks medium_breasts small_breasts large_breasts
thighs navel midriff hood hoodie choker belt bag umbrella book cup food fruit cat dog bird
star_(symbol) heart moon sun stairs street rooftop forest beach ocean mountain field
classroom bedroom kitchen cafe train""".split()


@lru_cache(maxsize=2)
def booru_tags(underscores: bool = False) -> tuple[str, ...]:
    """~650 booru-style tags (kohya captions use spaces, raw booru dumps underscores)."""
    tags = [f"{c}_{p}" for c in COLORS for p in PARTS] + GENERAL
    tags += [w.replace(" ", "_") for w in CLOTHING + OBJECTS + POSES + SCENES]
    return tuple(tags if underscores else [t.replace("_", " ") for t in tags])


_PERMS: dict = {}
_CUBES = tuple(random.Random(7).random() ** 3 for _ in range(4096))  # skewed tag counts


def quick_sample(rng: random.Random, key, seq, k: int) -> list:
    """`k` distinct items of `seq`: a random rotation of one of 8 fixed shuffles.

    Far cheaper than `rng.sample` for hundreds of items; `key` names `seq` in the cache.
    """
    perms = _PERMS.get(key)
    if perms is None:
        shuffler, perms = random.Random(str(key)), []
        for _ in range(8):
            p = list(seq)
            shuffler.shuffle(p)
            perms.append(p + p)
        _PERMS[key] = perms
    perm = perms[rng.randrange(8)]
    start = rng.randrange(len(perm) // 2)
    return perm[start:start + min(k, len(perm) // 2)]


@dataclass(slots=True)
class Concept:
    kind: str  # character | style | clothing | object | pose | scene | artist
    name: str  # display name
    slug: str  # file/output-name stem
    triggers: list[str]
    class_word: str
    tags: list[str]
    description: str
    author: str


def _slug(text: str) -> str:
    keep = "".join(ch if ch.isalnum() else "_" for ch in text.lower())
    return "_".join(part for part in keep.split("_") if part)


def make_concept(rng: random.Random, kind: str | None = None, name: str | None = None) -> Concept:
    """A varied, searchable subject for one LoRA: name, trigger words, tags, description."""
    kind = kind or rng.choices(["character", "style", "clothing", "object", "pose", "scene", "artist"],
                               [30, 22, 12, 8, 8, 10, 10])[0]
    first, last = rng.choice(FIRST), rng.choice(LAST)
    if name is None:
        if rng.random() < 0.04:
            name = rng.choice(UNICODE_NAMES)
        elif kind == "character":
            name = f"{first.title()} {last.title()}" if rng.random() < 0.6 else f"{first.title()} ({rng.choice(SERIES)})"
        elif kind == "style":
            name = f"{rng.choice(STYLE_ADJ).replace('-', ' ').title()} {rng.choice(STYLE_NOUN).title()}"
        elif kind == "artist":
            name = f"{first.title()} {last.title()} Style"
        else:
            pool = {"clothing": CLOTHING, "object": OBJECTS, "pose": POSES, "scene": SCENES}[kind]
            name = rng.choice(pool).title() if rng.random() < 0.7 else f"{rng.choice(pool).title()} {rng.choice(['XL', 'II', 'Deluxe', 'Concept'])}"
    slug = _slug(name) or f"lora_{rng.randrange(10**6)}"
    class_word = {"character": rng.choice(["1girl", "1boy", "woman", "man"]), "style": "style",
                  "artist": "artist style", "clothing": "outfit", "object": "object",
                  "pose": "pose", "scene": "scenery"}[kind]
    token = slug.replace("_", "")[:12] or slug
    artist = name[:-6] if name.endswith(" Style") else name
    triggers = [f"by {artist.lower()}"] if kind == "artist" else [token if rng.random() < 0.6 else f"{token[:4]}{rng.choice(['xl', 'v2', 'zk', 'lr'])}"]
    if rng.random() < 0.3:
        triggers.append(f"{rng.choice(COLORS)} {rng.choice(['outfit', 'theme', 'lighting', 'palette'])}")
    tags = rng.sample(booru_tags(), 6)
    description = rng.choice(_DESCRIPTIONS).format(
        name=name, kind=kind, n=rng.randrange(12, 400), trig=triggers[0], tags=", ".join(tags[:3]),
        w=rng.choice(["0.6", "0.7", "0.8", "1.0"]))
    author = f"{rng.choice(HANDLES)}{rng.choice(['', str(rng.randrange(100)), '_ai'])}"
    return Concept(kind, name, slug, triggers, class_word, tags, description, author)


_DESCRIPTIONS = [
    "{name}: a {kind} LoRA trained on {n} hand-picked images. Trigger with `{trig}` at weight {w}.",
    "Brings {name} to your prompts. Use `{trig}`; pairs well with {tags}. Recommended weight {w}.",
    "My take on {name} ({kind}). {n} images, captioned with booru tags. Works from 0.5 to {w}.",
    "{name} — trained for consistency across poses and outfits. Keyword: {trig}. Try {tags}.",
    "Experimental {kind} LoRA. Trigger `{trig}`, weight around {w}. Feedback welcome!",
]
_HOSTILE = ['<script>alert("xss")</script>', '<img src=x onerror=alert(1)>', '"><b onmouseover=alert(1)>hi</b>']

# --------------------------------------------------------------------------- metadata

BASES = {  # family -> [(Civitai base-model label, ss_sd_model_name, weight)]
    "sd1": [("SD 1.5", "v1-5-pruned-emaonly.safetensors", 4), ("SD 1.5", "anything-v5-PrtRE.safetensors", 2),
            ("SD 1.5", "AOM3A1B_orangemixs.safetensors", 1), ("SD 1.5", "realisticVisionV51_v51VAE.safetensors", 2)],
    "sd2": [("SD 2.1", "v2-1_768-ema-pruned.safetensors", 3), ("SD 2.0", "512-base-ema.safetensors", 1)],
    "xl": [("SDXL 1.0", "sd_xl_base_1.0.safetensors", 4), ("Pony", "ponyDiffusionV6XL_v6StartWithThisOne.safetensors", 4),
           ("Illustrious", "illustriousXL_v01.safetensors", 3), ("NoobAI", "noobaiXLNAIXL_vPred10Version.safetensors", 2),
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
        freq.update(zip(tags, [int(n * x) + 1 for x in _CUBES[off:off + len(tags)]]))
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
    alpha_s = f"{alpha if alpha is not None else rank:g}" if rng.random() < 0.5 else f"{float(alpha if alpha is not None else rank)}"
    res = RESOLUTION[family]
    n_img, repeats, epochs, batch = rng.randrange(12, 160), rng.choice((1, 2, 5, 10, 20)), rng.randrange(4, 21), rng.choice((1, 2, 4))
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
        "ss_v2": str(family == "sd2"), "ss_base_model_version": BASE_VERSION[family] + ("_v" if family == "sd2" and "768" in sd_model else ""),
        "ss_clip_skip": "2" if family == "sd1" or label == "Pony" else "None", "ss_max_token_length": rng.choice(("225", "None")),
        "ss_cache_latents": "True", "ss_seed": str(rng.randrange(2**31)), "ss_lowram": "False",
        "ss_noise_offset": rng.choice(("None", "0.0357", "0.1")), "ss_multires_noise_iterations": "None",
        "ss_multires_noise_discount": "0.3", "ss_adaptive_noise_scale": "None", "ss_zero_terminal_snr": "False",
        "ss_training_comment": rng.choice(("None", f"trigger: {concept.triggers[0]}", concept.description)),
        "ss_sd_scripts_commit_hash": rng.randbytes(20).hex(),
        "ss_optimizer": rng.choice(("bitsandbytes.optim.adamw.AdamW8bit(weight_decay=0.1)", "prodigyopt.prodigy.Prodigy(decouple=True,use_bias_correction=True)", "transformers.optimization.Adafactor(relative_step=False)")),
        "ss_max_grad_norm": "1.0", "ss_caption_dropout_rate": "0.0", "ss_caption_dropout_every_n_epochs": "0",
        "ss_caption_tag_dropout_rate": "0.0", "ss_face_crop_aug_range": "None", "ss_prior_loss_weight": "1.0",
        "ss_min_snr_gamma": rng.choice(("None", "5.0")), "ss_scale_weight_norms": "None", "ss_ip_noise_gamma": "None",
        "ss_debiased_estimation": "False", "ss_loss_type": "l2", "ss_huber_schedule": "snr", "ss_huber_c": "0.1",
        "ss_fp8_base": str(family == "f1"), "ss_sd_model_name": sd_model, "ss_vae_name": "None",
        "ss_new_sd_model_hash": hashlib.sha256(sd_model.encode()).hexdigest(),
        "ss_sd_model_hash": hashlib.sha256(sd_model.encode()[::-1]).hexdigest()[:8],
        "ss_resolution": f"({res}, {res})", "ss_enable_bucket": "True", "ss_min_bucket_reso": "256",
        "ss_max_bucket_reso": "2048", "ss_bucket_no_upscale": "True",
        "ss_bucket_info": json.dumps({"buckets": {"0": {"resolution": [res * 13 // 16, res * 19 // 16], "count": n_img * repeats}}, "mean_img_ar_error": 0.02}),
        "ss_keep_tokens": "1", "ss_shuffle_caption": "True", "ss_color_aug": "False", "ss_flip_aug": "False",
        "ss_random_crop": "False", "ss_batch_size_per_device": str(batch), "ss_total_batch_size": str(batch),
        "ss_tag_frequency": json.dumps(freq), "ss_dataset_dirs": json.dumps({d: {"n_repeats": repeats, "img_count": n_img // len(freq)} for d in freq}),
        "ss_reg_dataset_dirs": "{}", "ss_epoch": str(epoch), "ss_steps": str(per_epoch * epoch),
        "ss_training_finished_at": repr(finished),
    }
    if net_args is not None:
        md["ss_network_args"] = json.dumps(net_args)
    if family == "f1":
        md.update({"ss_apply_t5_attn_mask": "False", "ss_t5xxl_max_token_length": "512", "ss_guidance_scale": "1.0",
                   "ss_timestep_sampling": "shift", "ss_model_prediction_type": "raw", "ss_discrete_flow_shift": "3.1582"})
    if rng.random() < 0.35:  # dataset-config runs also describe each subset
        subsets = [{"img_count": n_img // len(freq), "num_repeats": repeats, "color_aug": False, "flip_aug": False,
                    "random_crop": False, "shuffle_caption": True, "keep_tokens": 1, "image_dir": d,
                    "class_tokens": d.split("_", 1)[1], "is_reg": False} for d in freq]
        md["ss_datasets"] = json.dumps([{"is_dreambooth": True, "batch_size_per_device": batch, "num_train_images": n_img * repeats,
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
    md = {"modelspec.sai_model_spec": "1.0.0", "modelspec.architecture": f"{ARCHITECTURE[family]}/{'lycoris' if network in ('loha', 'lokr') else 'lora'}",
          "modelspec.implementation": "https://github.com/black-forest-labs/flux" if family == "f1" else "https://github.com/Stability-AI/generative-models",
          "modelspec.title": concept.name, "modelspec.author": concept.author, "modelspec.description": concept.description,
          "modelspec.date": _dt.datetime.fromtimestamp(int(when), _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
          "modelspec.resolution": f"{res}x{res}", "modelspec.prediction_type": "epsilon",
          "modelspec.trigger_phrase": ", ".join(concept.triggers), "modelspec.tags": ", ".join(concept.tags[:4]),
          "modelspec.usage_hint": f"Use '{concept.triggers[0]}' at weight 0.8", "modelspec.license": "CreativeML OpenRAIL-M"}
    if rng.random() < 0.2:
        md["modelspec.thumbnail"] = "data:image/png;base64," + base64.b64encode(png_bytes(8, 8, (200, 120, 80))).decode()
    return md


def ssmd_metadata(rng: random.Random, concept: Concept) -> dict[str, str]:
    return {"ssmd_display_name": concept.name, "ssmd_author": concept.author, "ssmd_description": concept.description,
            "ssmd_keywords": ", ".join(concept.triggers), "ssmd_tags": ", ".join(concept.tags[:5]),
            "ssmd_rating": str(rng.randrange(6)), "ssmd_source": f"https://civitai.com/models/{rng.randrange(10**4, 10**6)}",
            "ssmd_version": f"{rng.randrange(1, 4)}.0", "ssmd_cover_images": "[]"}


def other_metadata(rng: random.Random, kind: str, family: str, concept: Concept, rank: int) -> dict[str, str] | None:
    """Metadata of non-kohya writers: none at all, PEFT's `{"format": "pt"}`, or ai-toolkit's."""
    if kind == "none":
        return None
    if kind == "pt":
        return {"format": "pt"}
    return {"format": "pt", "name": concept.slug, "version": "1.0",
            "software": json.dumps({"name": "ai-toolkit", "repo": "https://github.com/ostris/ai-toolkit", "version": "0.1.0"}),
            "training_info": json.dumps({"step": rng.randrange(500, 4000), "epoch": rng.randrange(1, 20)}),
            "ss_base_model_version": BASE_VERSION[family], "ss_output_name": concept.slug,
            "ss_network_dim": str(rank), "modelspec.title": concept.name,
            "modelspec.trigger_phrase": concept.triggers[0]}


# --------------------------------------------------------------------------- images


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@lru_cache(maxsize=256)
def png_bytes(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real, decodable RGB PNG: a vertical gradient from `rgb` to a darker shade."""
    rows = bytearray()
    for y in range(height):
        k = 1.0 - 0.5 * y / max(1, height - 1)
        rows += b"\x00" + bytes(int(c * k) for c in rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + _png_chunk(b"IEND", b""))


def _dc_bits(value: int) -> tuple[int, int, int]:
    """(category, bits, nbits) of a JPEG DC difference."""
    cat = abs(value).bit_length()
    bits = value if value >= 0 else value + (1 << cat) - 1
    return cat, bits, cat


@lru_cache(maxsize=256)
def jpeg_bytes(rgb: tuple[int, int, int]) -> bytes:
    """A real, decodable 8x8 baseline JPEG of one flat colour (YCbCr 4:4:4, q=1)."""
    r, g, b = rgb
    ycc = (0.299 * r + 0.587 * g + 0.114 * b, 128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
           128 + 0.5 * r - 0.418688 * g - 0.081312 * b)
    # DC table: categories 0..11 all 4-bit codes 0000..1011; AC table: EOB only ("0").
    acc, nacc = 0, 0
    for level in ycc:
        cat, bits, nbits = _dc_bits(round(8 * (level - 128)))
        acc, nacc = (acc << 4) | cat, nacc + 4
        acc, nacc = (acc << nbits) | bits, nacc + nbits
        acc, nacc = acc << 1, nacc + 1  # EOB
    pad = (-nacc) % 8
    acc, nacc = (acc << pad) | ((1 << pad) - 1), nacc + pad
    scan = acc.to_bytes(nacc // 8, "big").replace(b"\xff", b"\xff\x00")

    def seg(marker: int, body: bytes) -> bytes:
        return struct.pack(">HH", marker, len(body) + 2) + body

    dht_dc = bytes([0x00]) + bytes([0, 0, 0, 12] + [0] * 12) + bytes(range(12))
    dht_ac = bytes([0x10]) + bytes([1] + [0] * 15) + b"\x00"
    sof = struct.pack(">BHHB", 8, 8, 8, 3) + bytes([1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0])
    sos = bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])
    return (b"\xff\xd8" + seg(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            + seg(0xFFDB, b"\x00" + b"\x01" * 64) + seg(0xFFC0, sof) + seg(0xFFC4, dht_dc)
            + seg(0xFFC4, dht_ac) + seg(0xFFDA, sos) + scan + b"\xff\xd9")


PREVIEW_KINDS = ("preview.png", "png", "thumb.jpg", "example.1.jpg")


def preview_bytes(kind: str, rng: random.Random, size: int = 16) -> bytes:
    hue = rng.randrange(32)
    rgb = tuple(int(40 + 215 * v) for v in colorsys.hsv_to_rgb(hue / 32, 0.7, 0.95))
    return png_bytes(size, size, rgb) if kind.endswith("png") else jpeg_bytes(rgb)


# --------------------------------------------------------------------------- sidecars

SIDECAR_SUFFIX = {
    "a1111": ".json", "sdnext": ".json", "civitai_info": ".civitai.info",
    "api_info": ".api_info.json", "comfy_lm": ".metadata.json", "cm_info": ".cm-info.json",
    "txt": ".txt", "description_txt": ".description.txt",
}
A1111_SD_VERSION = {"sd1": "SD1", "sd2": "SD2", "xl": "SDXL", "f1": "Other"}


def _dumps(obj, indent: bool = True) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 if indent else 0)


def civitai_hashes(info: dict) -> dict:
    hashes = {"AutoV2": info["sha256"][:10].upper(), "SHA256": info["sha256"].upper(),
              "CRC32": f"{info['crc32']:08X}", "AutoV3": info["tensor_sha256"][:12].upper()}
    if info.get("legacy"):
        hashes["AutoV1"] = info["legacy"][:8].upper()
    return hashes


def _images(info: dict, rng: random.Random) -> list[dict]:
    out = []
    for _ in range(rng.randrange(1, 4)):
        iid = rng.randrange(10**6, 5 * 10**7)
        w, h = rng.choice([(832, 1216), (1024, 1024), (512, 768), (768, 1152)])
        out.append({"url": f"https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/{rng.randbytes(16).hex()}/width={w}/{iid}.jpeg",
                    "nsfwLevel": 1, "width": w, "height": h, "hash": rng.randbytes(14).hex()[:28], "type": "image",
                    "meta": {"prompt": f"{', '.join(info['triggers'])}, {', '.join(info['tags'][:4])}, masterpiece",
                             "negativePrompt": "lowres, bad anatomy, worst quality", "sampler": "DPM++ 2M Karras",
                             "cfgScale": rng.choice([5, 6, 7]), "steps": rng.choice([20, 25, 30]),
                             "seed": rng.randrange(2**32), "Size": f"{w}x{h}"}})
    return out


def civitai_version(info: dict, rng: random.Random, *, own: bool = True) -> dict:
    """A Civitai model-version response; `own=False` makes an older sibling with other hashes."""
    vid = info["version_id"] if own else rng.randrange(10**4, 2 * 10**6)
    src = info if own else {**info, "sha256": rng.randbytes(32).hex(), "tensor_sha256": rng.randbytes(32).hex(),
                            "crc32": rng.randrange(2**32), "legacy": None}
    name = info["version"] if own else f"v{rng.randrange(1, 4)}.{rng.randrange(10)}-old"
    return {
        "id": vid, "modelId": info["model_id"], "name": name, "createdAt": info["created"],
        "updatedAt": info["created"], "trainedWords": list(info["triggers"]), "baseModel": info["label"],
        "baseModelType": "Standard", "earlyAccessTimeFrame": 0, "description": f"<p>{info['html_note']}</p>",
        "stats": {"downloadCount": rng.randrange(10**5), "ratingCount": rng.randrange(500), "rating": 5},
        "model": {"name": info["name"], "type": "LORA", "nsfw": False, "poi": False},
        "files": [{"id": rng.randrange(10**5, 10**7), "sizeKB": src["size"] / 1024, "name": info["file_name"],
                   "type": "Model", "metadata": {"format": "SafeTensor", "size": None, "fp": "fp16"},
                   "hashes": civitai_hashes(src), "primary": True,
                   "downloadUrl": f"https://civitai.com/api/download/models/{vid}"}],
        "images": _images(info, rng), "downloadUrl": f"https://civitai.com/api/download/models/{vid}",
    }


def civitai_model(info: dict, rng: random.Random) -> dict:
    """A Civitai model response (SDNext `<base>.json`, browser-plus `.api_info.json`)."""
    versions = [civitai_version(info, rng, own=False) for _ in range(rng.randrange(0, 3))]
    versions.insert(rng.randrange(len(versions) + 1), civitai_version(info, rng))
    return {"id": info["model_id"], "name": info["name"], "description": info["html"], "type": "LORA",
            "poi": False, "nsfw": False, "allowNoCredit": True, "tags": list(info["tags"][:5]),
            "creator": {"username": info["author"], "image": None},
            "stats": {"downloadCount": rng.randrange(10**5), "favoriteCount": rng.randrange(10**4)},
            "modelVersions": versions}


def _a1111(info: dict, rng: random.Random) -> dict:
    doc = {"description": info["description"], "sd version": A1111_SD_VERSION[info["family"]],
           "activation text": ", ".join(info["triggers"]), "preferred weight": info["weight"],
           "negative text": rng.choice(["", "", "bad hands, extra fingers"]), "notes": ""}
    if rng.random() < 0.5:  # civitai-browser-plus / Civitai Helper extras
        doc.update({"modelId": info["model_id"], "modelVersionId": info["version_id"],
                    "sha256": info["sha256"].upper(), "vae": "None"})
    return doc


def _comfy_lm(info: dict, rng: random.Random) -> dict:
    tips = {"strength": info["weight"] or 1.0, "strength_min": 0.4, "strength_max": 1.2, "clip_skip": info["clip_skip"]}
    return {"file_name": info["base"], "model_name": info["name"], "file_path": info["abs_path"],
            "size": info["size"], "modified": info["mtime"], "sha256": info["sha256"],
            "base_model": info["label"], "preview_url": info["preview_abs"] or "",
            "preview_nsfw_level": 0, "notes": "", "from_civitai": True,
            "civitai": {"id": info["version_id"], "modelId": info["model_id"], "name": info["version"],
                        "trainedWords": list(info["triggers"]), "baseModel": info["label"]},
            "tags": list(info["tags"][:4]), "modelDescription": info["html"], "civitai_deleted": False,
            "favorite": rng.random() < 0.2, "exclude": False, "db_checked": False,
            "last_checked_at": info["mtime"], "usage_tips": orjson.dumps(tips).decode(),
            "metadata_source": "civitai_api", "x_unknown_field": {"kept": True}}


def _cm_info(info: dict, rng: random.Random) -> dict:
    return {"ModelId": info["model_id"], "VersionId": info["version_id"], "ModelName": info["name"],
            "VersionName": info["version"], "ModelDescription": info["html"], "BaseModel": info["label"],
            "FileMetadata": {"Format": "SafeTensor", "Size": "Pruned", "Fp": "Fp16"}, "ModelType": "LORA",
            "ImportedAt": info["created"], "Hashes": {"SHA256": info["sha256"].upper(), "BLAKE3": None},
            "TrainedWords": list(info["triggers"]), "Nsfw": False, "Tags": list(info["tags"][:4]),
            "InferenceDefaults": {"MinStrength": 0.4, "MaxStrength": 1.2, "DefaultStrength": info["weight"] or 1.0}
            if rng.random() < 0.7 else None}


def sidecar_bytes(kind: str, info: dict, rng: random.Random) -> bytes:
    if kind == "a1111":
        return _dumps(_a1111(info, rng))
    if kind in ("sdnext", "api_info"):
        return _dumps(civitai_model(info, rng), indent=kind == "sdnext")
    if kind == "civitai_info":
        if rng.random() < 0.1:  # Civitai Helper's skeleton for a model it could not find
            return _dumps({"id": "", "modelId": "", "name": "", "trainedWords": [], "baseModel": "",
                           "description": "", "model": {"name": "", "type": "", "nsfw": False},
                           "files": [], "images": []})
        return _dumps(civitai_version(info, rng))
    if kind == "comfy_lm":
        return _dumps(_comfy_lm(info, rng))
    if kind == "cm_info":
        return _dumps(_cm_info(info, rng))
    if kind == "txt":
        return (", ".join(info["triggers"]) + "\n" + info["description"] + "\n").encode()
    if kind == "description_txt":
        return (info["description"] + "\n").encode()
    raise ValueError(f"unknown sidecar kind {kind!r}")


def html_description(info: dict, rng: random.Random, hostile: bool = False) -> str:
    html = f"<p>{info['description']}</p><p>Trigger: <strong>{info['triggers'][0]}</strong></p>"
    return html + (f"<p>{rng.choice(_HOSTILE)}</p>" if hostile else "")


# --------------------------------------------------------------------------- broken files

BROKEN_KINDS = ("truncated_header", "header_too_long", "absurd_header", "bad_json", "zero_bytes",
                "random_bytes", "pt_zip", "ckpt", "bad_sidecar", "truncated_data", "not_object")
BROKEN_EXT = {"pt_zip": ".pt", "ckpt": ".ckpt", "bad_sidecar": ".json"}


def broken_bytes(kind: str, valid: bytes, rng: random.Random) -> bytes:
    """Bytes of a file that is broken the way `kind` says; `valid` is a good safetensors file."""
    (n,) = struct.unpack("<Q", valid[:8])
    if kind == "truncated_header":
        return valid[: 8 + n // 2]
    if kind == "truncated_data":
        return valid[: 8 + n + (len(valid) - 8 - n) // 2]
    if kind == "header_too_long":
        return struct.pack("<Q", len(valid) + 4096) + valid[8:]
    if kind == "absurd_header":
        return struct.pack("<Q", 2**60) + valid[8:4096]
    if kind == "bad_json":
        return valid[: 8 + n // 2] + b"\x00\x00}{ not json" + b" " * (n - n // 2 - 14) + valid[8 + n:]
    if kind == "not_object":
        body = b'["not", "a", "header"]'.ljust(24)
        return struct.pack("<Q", len(body)) + body + valid[8 + n: 8 + n + 64]
    if kind == "zero_bytes":
        return b""
    if kind == "random_bytes":
        raw = bytearray(rng.randbytes(rng.randrange(512, 8192)))
        raw[0], raw[7] = 0xA7, raw[7] | 0x40  # not "{", and N >= 2**62: absurd
        return bytes(raw)
    if kind == "pt_zip":  # a zip local header that goes nowhere: never a loadable pickle
        return b"PK\x03\x04\x00\x00\x08\x00" + rng.randbytes(22) + b"archive/data.pkl" + rng.randbytes(256)
    if kind == "ckpt":  # an empty zip archive (end-of-central-directory record only)
        return b"PK\x05\x06" + b"\x00" * 18
    if kind == "bad_sidecar":
        return b'{"description": "cut off in the mid'
    raise ValueError(f"unknown broken kind {kind!r}")
