"""Inference engines. Each one turns a batch of strings into a batch of strings;
scheduling, segmentation and transport live elsewhere, so a second engine
(CTranslate2, say) plugs in beside ``TransformersEngine`` without touching them."""

from .base import Generation, GenerationParams, ModelInfo, Seq2SeqEngine, Task

__all__ = ["Generation", "GenerationParams", "ModelInfo", "Seq2SeqEngine", "Task"]
