"""Civitai's record of a LoRA, found by its hash: client, facts, sidecar, preview, service (docs/civitai.md).

Nothing here is imported by the host at start-up beyond the service's class; httpx loads on the first fetch.
"""
