"""The vocabulary of synthetic LoRAs: names, concepts, booru tags.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

# --------------------------------------------------------------------------- vocabulary

FIRST = ["aurelia", "kaelin", "mirae", "sora", "yuki", "lysandra", "theron", "vesper", "isolde", "rowan", "kasumi",
         "nadia", "elowen", "zephyr", "marisol", "ingrid", "haruto", "liora", "cassian", "selene", "oriane", "tamsin",
         "ysolde", "kenji", "amara", "briar", "calla", "dorian", "ember", "fenna", "galen", "hanae", "iris", "juniper",
         "kiri", "lumi", "maeve", "nerys", "orrin", "petra", "quill", "rhea", "saoirse", "talia", "ulla", "veda",
         "wren", "xanthe", "yara", "zadie"]
LAST = ["ashford", "starfall", "nightbloom", "ironvale", "duskwind", "silverleaf", "morrow", "halloway", "emberlyn",
        "frostmere", "greywater", "hollowell", "kestrel", "larkspur", "moonbrook", "northcliff", "oakheart",
        "pemberton", "quicksilver", "ravenscar", "stormholt", "thornfield", "umbervale", "whitlock", "yarrow", "zeller"]
SERIES = ["Starfall Academy", "Chrono Drifters", "Azure Requiem", "Mecha Ronin", "Velvet Circus",
          "Lantern Kingdom", "Neon Shrine", "Tidebound", "Hollow Crown", "Paper Moon Saga"]
STYLE_ADJ = ["watercolor", "ink-wash", "neon-noir", "pastel", "cel-shaded", "oil-painting", "vaporwave", "art-nouveau",
             "ukiyo-e", "low-poly", "pixel-art", "chiaroscuro", "gouache", "charcoal", "cyberpunk", "solarpunk",
             "dieselpunk", "gothic", "baroque", "minimalist", "retro-anime", "90s-anime", "film-grain", "polaroid",
             "risograph", "stained-glass", "papercut", "claymation", "isometric", "synthwave", "dreamcore"]
STYLE_NOUN = ["style", "aesthetic", "look", "dreamscape", "palette", "lighting", "lineart", "rendering", "illustration"]
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
HANDLES = ["pixelmoth", "neonquill", "latentfox", "inkwyrm", "velvetgrid", "softprism", "lorasmith", "tagwitch"]
COLORS = ["red", "blue", "green", "yellow", "purple", "pink", "orange", "white", "black", "grey", "brown", "silver",
          "blonde", "aqua", "teal", "lavender", "crimson", "gold"]
PARTS = ["hair", "eyes", "dress", "shirt", "skirt", "jacket", "background", "ribbon", "gloves", "thighhighs", "bow",
         "nails", "footwear", "headwear", "kimono", "bikini", "cape", "scarf", "sweater", "pantyhose"]
GENERAL = ["1girl", "1boy", "solo", "smile", "looking_at_viewer", "open_mouth", "blush", "simple_background",
           "upper_body", "full_body", "outdoors", "indoors", "day", "night", "sky", "cloud", "tree", "flower",
           "holding", "standing", "sitting", "closed_eyes", "jewelry", "earrings", "necklace", "hat", "glasses",
           "water", "city", "building", "window", "masterpiece", "best_quality", "absurdres", "highres", "cowboy_shot",
           "from_side", "from_behind", "portrait", "signature", "watermark", "depth_of_field", "blurry_background",
           "light_particles", "sunlight", "lens_flare", "cherry_blossoms", "snow", "rain", "reflection", "scenery",
           "no_humans", "animal_ears", "cat_ears", "fox_ears", "tail", "wings", "horns", "halo", "sword", "weapon",
           "armor", "boots", "bare_shoulders", "collarbone", "sleeveless", "long_sleeves", "frills", "lace",
           "hair_ornament", "hairclip", "headphones", "parted_lips", "grin", "tears", "looking_away", "looking_back",
           "arms_up", "hand_on_hip", "peace_sign", "crossed_arms", "leaning_forward", "dutch_angle", "wide_shot",
           "close-up", "monochrome", "greyscale", "sketch", "traditional_media", "realistic", "photorealistic", "3d",
           "chibi", "pixel_art", "flat_color", "lineart", "gradient_background", "white_background", "black_background",
           "long_hair", "short_hair", "twintails", "ponytail", "braid", "bob_cut", "ahoge", "hair_bun", "side_ponytail",
           "very_long_hair", "bangs", "blunt_bangs", "sidelocks", "medium_breasts", "small_breasts", "large_breasts",
           "thighs", "navel", "midriff", "hood", "hoodie", "choker", "belt", "bag", "umbrella", "book", "cup", "food",
           "fruit", "cat", "dog", "bird", "star_(symbol)", "heart", "moon", "sun", "stairs", "street", "rooftop",
           "forest", "beach", "ocean", "mountain", "field", "classroom", "bedroom", "kitchen", "cafe", "train"]


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
            name = (f"{first.title()} {last.title()}" if rng.random() < 0.6
                    else f"{first.title()} ({rng.choice(SERIES)})")
        elif kind == "style":
            name = f"{rng.choice(STYLE_ADJ).replace('-', ' ').title()} {rng.choice(STYLE_NOUN).title()}"
        elif kind == "artist":
            name = f"{first.title()} {last.title()} Style"
        else:
            pool = {"clothing": CLOTHING, "object": OBJECTS, "pose": POSES, "scene": SCENES}[kind]
            name = (rng.choice(pool).title() if rng.random() < 0.7
                    else f"{rng.choice(pool).title()} {rng.choice(['XL', 'II', 'Deluxe', 'Concept'])}")
    slug = _slug(name) or f"lora_{rng.randrange(10**6)}"
    class_word = {"character": rng.choice(["1girl", "1boy", "woman", "man"]), "style": "style",
                  "artist": "artist style", "clothing": "outfit", "object": "object",
                  "pose": "pose", "scene": "scenery"}[kind]
    token = slug.replace("_", "")[:12] or slug
    artist = name[:-6] if name.endswith(" Style") else name
    triggers = ([f"by {artist.lower()}"] if kind == "artist"
                else [token if rng.random() < 0.6 else f"{token[:4]}{rng.choice(['xl', 'v2', 'zk', 'lr'])}"])
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
