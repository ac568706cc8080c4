"""Recipes: a prompt, its settings and a LoRA stack, saved, searched, shared and sent back to the host.

`model.py` the recipe's shape and limits; `images.py` reading an image's generation text safely;
`parse/` one module per dialect (SDNext/A1111 infotext, ComfyUI, Civitai); `matching.py` each LoRA
against the library (hashes first, then name); `exchange.py` the JSON document and the PNG;
`handoff.py` the host's infotext and the job; `service.py` the `recipes` object; `cli.py` the commands.
The SQL is `storage/recipe_store.py`. The format is docs/recipes.md.
"""
