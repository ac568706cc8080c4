"""Recommendations: LoRAs for a prompt, LoRAs like a LoRA (see service.Recommender).

Nothing heavy is imported here: torch, sentence-transformers, faiss and numpy
are imported inside the functions of embedder.py and vectors.py.
"""
