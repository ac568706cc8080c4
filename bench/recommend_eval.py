"""An evaluation set for the recommender: LoRAs with realistic, varied texts and
prompts whose right answer is known. The prompts are paraphrases: they avoid the
target's trigger words and name, so a hit must come from meaning, not spelling.

`library(n)` gives the 40 targets plus distractors (other subjects, same
templates) up to n entries shaped like list-API entries; `QUERIES` pairs a
prompt with the prompt name of its answer.
"""

from __future__ import annotations

import random

# prompt name, family, triggers, tags, description, [paraphrased prompts]
TARGETS = [
    ("neonNoirCity", "xl", ["nnc_city"], ["city", "scifi"],
     "Rain-soaked cyberpunk streets lit by neon signs, futuristic skyscrapers and flying cars at night.",
     ["a dystopian metropolis after dark, wet asphalt reflecting glowing advertisements",
      "futuristic downtown with holographic billboards in the rain"]),
    ("inkWashLandscape", "sd1", ["sumi-e style"], ["style", "traditional"],
     "Traditional East Asian ink wash painting: misty mountains, bamboo, brush strokes on rice paper.",
     ["black brush painting of foggy peaks in the chinese manner",
      "monochrome calligraphic brushwork of hills and a river"]),
    ("pixelQuest", "sd1", ["pxlqst"], ["style", "game"],
     "Retro 16-bit pixel art sprites and tiles, limited palette, like old console RPGs.",
     ["an 8-bit video game screenshot of a hero in a dungeon", "low resolution retro console graphics of a castle"]),
    ("steampunkGear", "xl", ["brass gears"], ["style", "steampunk"],
     "Victorian steampunk machinery: brass, copper pipes, cogs, goggles and airships.",
     ["a victorian inventor with clockwork mechanisms and a dirigible",
      "copper piping and steam powered contraptions, 19th century science fiction"]),
    ("gothicCathedral", "sd1", ["gthcat"], ["architecture"],
     "Gothic cathedral interiors with stained glass windows, ribbed vaults and candle light.",
     ["inside a medieval church with colourful glass windows and pointed arches",
      "a dark nave lit by candles under tall vaulted ceilings"]),
    ("underwaterReef", "xl", ["coralscape"], ["nature", "ocean"],
     "Vivid coral reefs full of tropical fish, sun rays through clear turquoise water.",
     ["scuba diving among colourful fish below the sea surface",
      "a tropical lagoon seen from below the waves with corals"]),
    ("chibiFigures", "sd1", ["chbfig"], ["style", "anime"],
     "Super deformed chibi characters with big heads, tiny bodies and cute expressions.",
     ["cute small anime people with oversized heads", "kawaii miniature mascot version of a girl"]),
    ("vintagePolaroid", "xl", ["instant film"], ["photo", "retro"],
     "Instant camera photo look from the 1970s: faded colors, white frame, light leaks.",
     ["an old seventies snapshot with washed out colours and a border",
      "nostalgic grainy retro photograph with a light leak"]),
    ("samuraiArmor", "sd1", ["o-yoroi"], ["clothing", "japan"],
     "Feudal Japanese samurai armor with lacquered plates, kabuto helmet and katana.",
     ["a warrior of edo period japan in full battle gear with a sword", "shogun era soldier wearing a horned helmet"]),
    ("watercolorBotanical", "sd1", ["wtrbot"], ["style", "painting"],
     "Delicate botanical watercolor illustrations of flowers and leaves on textured paper.",
     ["a soft aquarelle study of roses and ferns", "scientific plant illustration painted with translucent pigments"]),
    ("spaceNebula", "xl", ["nbla_space"], ["space", "scifi"],
     "Deep space nebulae, galaxies and star fields in saturated purple and teal.",
     ["cosmic clouds of gas among countless stars", "an astronomical vista of the milky way and interstellar dust"]),
    ("knitSweater", "sd1", ["cableknit"], ["clothing"],
     "Chunky hand-knitted wool sweaters with cable patterns, cozy autumn outfits.",
     ["a woman in a warm woollen pullover on a chilly day", "cozy handmade knitwear with braided stitches"]),
    ("claymation", "xl", ["clymtn"], ["style", "3d"],
     "Stop-motion clay animation look: plasticine figures with fingerprints and soft studio light.",
     ["characters sculpted from modelling clay like an aardman film",
      "a plasticine puppet scene from a stop motion movie"]),
    ("desertNomad", "sd1", ["dsrtnmd"], ["character"],
     "Desert wanderers in flowing robes and scarves among sand dunes under a harsh sun.",
     ["a traveller wrapped in cloth crossing the sahara", "bedouin on a camel between golden dunes"]),
    ("artDecoPoster", "xl", ["deco poster"], ["style", "design"],
     "1920s Art Deco travel posters: geometric shapes, gold lines, elegant typography.",
     ["a roaring twenties advertisement with streamlined geometric ornament",
      "gatsby era luxury liner poster in gold and black"]),
    ("zombieHorror", "sd1", ["rotting undead"], ["horror"],
     "Gruesome zombie horror: decaying flesh, torn clothes, abandoned town in fog.",
     ["walking dead creatures shambling through a deserted street", "a scary corpse monster with rotten skin"]),
    ("bonsaiTree", "sd1", ["bnsai"], ["nature", "japan"],
     "Miniature bonsai trees in ceramic pots, carefully pruned branches and moss.",
     ["a tiny potted pine shaped by years of pruning", "dwarf tree on a wooden stand in a zen garden"]),
    ("mechPilot", "xl", ["mchplt"], ["scifi", "robot"],
     "Giant mecha robots and their pilots, armored cockpits, anime mecha design.",
     ["a huge humanoid battle robot with a cockpit", "gundam like war machine standing in a hangar"]),
    ("autumnForest", "sd1", ["fall foliage"], ["nature", "season"],
     "Autumn forests with red and orange leaves, misty paths and warm low sun.",
     ["woods in october with golden and crimson trees", "a trail covered with fallen leaves in late september"]),
    ("sushiFood", "xl", ["foodshot"], ["food"],
     "Appetizing food photography of sushi, sashimi and nigiri on slate plates.",
     ["raw fish on rice arranged by a japanese chef", "a close up of maki rolls with soy sauce and wasabi"]),
    ("tarotCard", "sd1", ["trtcrd"], ["design", "occult"],
     "Ornate tarot card designs with mystical symbols, borders and arcana figures.",
     ["a fortune telling card with esoteric symbolism and a decorative frame",
      "the magician arcana illustrated in an old deck"]),
    ("dragonScales", "xl", ["wyrm"], ["creature", "fantasy"],
     "Majestic dragons with iridescent scales, wings and fire breath over mountains.",
     ["a huge winged reptile breathing flames above a castle", "mythical fire-breathing beast with glittering hide"]),
    ("lowPolyRender", "sd1", ["lwply"], ["style", "3d"],
     "Low poly 3D renders: flat-shaded triangles, pastel palettes, minimal scenes.",
     ["a faceted geometric 3d landscape made of few polygons", "simple triangulated mesh art with flat colors"]),
    ("weddingDress", "xl", ["bridalgown"], ["clothing"],
     "Elegant white wedding gowns with lace, veils and long trains.",
     ["a bride in a flowing ivory dress with a veil", "lacy marriage ceremony outfit for a woman"]),
    ("snowyCabin", "sd1", ["wntrcbn"], ["scene", "season"],
     "Cozy log cabins in deep snow, warm light in the windows, pine forest in winter.",
     ["a wooden hut covered in snow at dusk with glowing windows", "a little house among frosted pines in december"]),
    ("cyberArm", "xl", ["prosthetic limb"], ["scifi", "concept"],
     "Detailed cybernetic prosthetic arms and implants with exposed wiring.",
     ["a person with a robotic mechanical arm replacing the real one",
      "bionic augmentation of a hand with cables and metal plates"]),
    ("comicHalftone", "sd1", ["bendaydots"], ["style", "comic"],
     "Pop art comic book style with halftone dots, bold outlines and speech bubbles.",
     ["a roy lichtenstein like panel with dotted shading", "american superhero comic print with thick ink lines"]),
    ("vikingWarrior", "sd1", ["norseman"], ["character", "history"],
     "Viking warriors with round shields, axes, braided beards and longships.",
     ["a scandinavian raider from the 9th century with a battle axe",
      "norse fighter standing on a dragon-prowed boat"]),
    ("macroInsects", "xl", ["macrobug"], ["photo", "nature"],
     "Extreme macro photography of insects: compound eyes, dew drops, shallow depth of field.",
     ["an extreme close-up of a beetle covered in water droplets", "a bee's face photographed with a macro lens"]),
    ("neonSign", "sd1", ["glowtube"], ["object", "lighting"],
     "Glowing neon tube signs and lettering on brick walls.",
     ["a bar sign made of bent glowing glass tubes", "luminous pink lettering on a dark wall"]),
    ("origamiPaper", "xl", ["papercraft fold"], ["style", "craft"],
     "Origami and folded paper sculptures: cranes, crisp creases, soft shadows.",
     ["a crane folded from a single sheet of paper", "animals made of creased paper art"]),
    ("oilPortrait", "sd1", ["rmbrndt"], ["style", "painting"],
     "Classical oil portrait painting in the manner of the Dutch masters, chiaroscuro lighting.",
     ["a baroque painted portrait with dramatic light and dark", "old master style canvas of a nobleman"]),
    ("racingCar", "xl", ["f1car"], ["vehicle"],
     "Formula racing cars at speed on the track, motion blur and sponsor livery.",
     ["a single seater race car speeding through a corner", "grand prix motorsport with blurred background"]),
    ("fairyWings", "sd1", ["pixie wings"], ["creature", "fantasy"],
     "Tiny fairies with translucent glittering wings in enchanted forests.",
     ["a little winged sprite among mushrooms and fireflies", "a magical woodland being with dragonfly wings"]),
    ("brutalistBuilding", "xl", ["brtlst"], ["architecture"],
     "Brutalist concrete architecture: massive raw concrete blocks, repetitive windows.",
     ["a grey soviet era housing block of bare concrete", "monumental raw cement government building"]),
    ("tattooFlash", "sd1", ["flash sheet"], ["design"],
     "Traditional tattoo flash designs: bold lines, anchors, roses, swallows, red and green.",
     ["old school sailor ink designs of a swallow and an anchor", "a page of american traditional body art designs"]),
    ("medievalMap", "xl", ["cartography"], ["design", "fantasy"],
     "Fantasy maps on parchment with coastlines, mountains, compass roses and sea monsters.",
     ["an old hand-drawn chart of an imaginary kingdom", "a parchment atlas of islands with a compass rose"]),
    ("ghibliMeadow", "sd1", ["sg_meadow"], ["style", "anime"],
     "Hand-painted anime backgrounds of green meadows, cumulus clouds and summer skies.",
     ["a studio ghibli like grassy hill under big fluffy clouds",
      "peaceful summer field painted for an animated film"]),
    ("cyberNinja", "xl", ["techninja"], ["character", "scifi"],
     "Futuristic ninjas in armored stealth suits with glowing katanas.",
     ["an assassin from the future in a high-tech suit with an energy blade", "a masked shinobi with neon armor"]),
    ("candyLand", "sd1", ["swtlnd"], ["scene", "fantasy"],
     "Whimsical landscapes made of candy, lollipops, gingerbread houses and frosting.",
     ["a world built from sweets, chocolate rivers and sugar trees", "a fairy tale village of cakes and lollipops"]),
]

SUBJECTS = ("forest", "portrait", "castle", "robot", "ocean", "flower", "car", "city", "cat", "dog", "horse",
            "mountain", "witch", "knight", "spaceship", "kitchen", "library", "train", "bridge", "desert", "island",
            "jungle", "temple", "garden", "market", "festival", "dancer", "musician", "warrior", "princess", "soldier",
            "pirate", "wizard", "bird", "owl", "wolf", "fox", "bear", "tiger", "lion", "shark", "whale", "tree",
            "river", "lake", "volcano")
KINDS = ("style", "character", "concept", "pose", "clothing", "background", "lighting", "texture", "effect")
ADJ = ("dramatic", "soft", "colorful", "dark", "bright", "detailed", "minimal", "vintage", "modern", "dreamy", "gritty",
       "elegant", "playful", "moody", "epic", "cozy", "surreal", "realistic", "stylized", "cinematic")
TEMPLATES = ("A {a} {k} LoRA for {s} images, with {b} colors and {c} details.",
             "Makes {s} pictures look {a} and {b}. Works well with {s2} scenes.",
             "{A} {s} {k}: trained on {n} images of {s} and {s2}.",
             "Adds a {a} {k} to any {s}; best at weight 0.7 with {b} lighting.")


def _distractor(rng: random.Random, i: int) -> dict:
    s, s2 = rng.sample(SUBJECTS, 2)
    a, b, c = rng.sample(ADJ, 3)
    k = rng.choice(KINDS)
    text = rng.choice(TEMPLATES).format(a=a, A=a.capitalize(), b=b, c=c, k=k, s=s, s2=s2, n=rng.randint(20, 400))
    name = f"{a}{s.capitalize()}{k.capitalize()}_{i}"
    return {"id": i, "name": name, "prompt_name": name, "title": None, "alias": None,
            "base_model": rng.choice(("sd1", "xl", "xl", "f1")), "triggers": [f"{s[:3]}{k[:3]}{i % 97}"],
            "tags": [k, s], "source_tags": [], "description": text, "training_tags": [[s, 30], [a, 10]],
            "preferred_weight": None}


def library(n: int, seed: int = 0) -> list[dict]:
    """The targets (ids 1..40) and distractors up to `n` entries."""
    out = []
    for i, (name, fam, trig, tags, desc, _) in enumerate(TARGETS, 1):
        out.append({"id": i, "name": name, "prompt_name": name, "title": None, "alias": None, "base_model": fam,
                    "triggers": trig, "tags": tags, "source_tags": [], "description": desc, "training_tags": [],
                    "preferred_weight": None})
    rng = random.Random(seed)
    out.extend(_distractor(rng, i) for i in range(len(out) + 1, n + 1))
    return out


QUERIES: list[tuple[str, str]] = [(q, name) for name, *_rest, queries in TARGETS for q in queries]


def metrics(ranked: list[list[str]], k: int = 5) -> dict:
    """recall@k and MRR over QUERIES, given each query's ranked prompt names."""
    hits, rr = 0, 0.0
    for (_, answer), names in zip(QUERIES, ranked, strict=False):
        if answer in names[:k]:
            hits += 1
        if answer in names:
            rr += 1.0 / (names.index(answer) + 1)
    return {f"recall@{k}": round(hits / len(QUERIES), 3), "mrr": round(rr / len(QUERIES), 3), "queries": len(QUERIES)}
