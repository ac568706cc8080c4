"""LoRA Manager: a fast, loss-free index of a LoRA library, for SDNext and standalone."""

__version__ = "0.1.0"
