"""Files to facts: pure functions that read LoRA files, sidecars and previews.

Nothing here touches the database; nothing here imports torch or gradio.
"""
