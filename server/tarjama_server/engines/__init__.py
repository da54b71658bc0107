"""Inference backends: each turns a batch of strings into a batch of strings.

``base`` holds the interface the core programs against (``Seq2SeqEngine``, the decoding
settings and results, the model's facts); ``transformers_engine`` and
``ctranslate2_engine`` implement it. Loading a model into an engine is ``loading``'s job;
scheduling, segmentation and transport live elsewhere. A new backend implements
``Seq2SeqEngine`` and gets a branch in ``loading.loader.load_engine``.
"""

from .base import Generation, GenerationParams, ModelInfo, Seq2SeqEngine, Task

__all__ = ["Generation", "GenerationParams", "ModelInfo", "Seq2SeqEngine", "Task"]
