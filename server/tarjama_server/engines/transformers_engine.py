"""Hugging Face ``transformers`` + ``torch`` inference."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import Generation, GenerationParams, ModelInfo, TokenizedEngine


class TransformersEngine(TokenizedEngine):
    """Runs ``model.generate`` for any ``AutoModelForSeq2SeqLM`` (Marian, mT5...)."""

    def __init__(self, model: Any, tokenizer: Any, info: ModelInfo) -> None:
        super().__init__(tokenizer, info)
        self.model = model

    def generate(self, texts: Sequence[str], params: GenerationParams) -> list[Generation]:
        import torch

        if not texts:
            return []
        with self._tokenizer_lock:
            encoded = self.tokenizer(list(texts), padding=True, truncation=False, return_tensors="pt")
        input_lengths = encoded["attention_mask"].sum(dim=1).tolist()
        longest = max(input_lengths)
        if longest > self.info.max_input_tokens:
            # Segmentation guarantees this never happens; refuse rather than truncate.
            raise ValueError(f"input of {longest} tokens exceeds the model window of {self.info.max_input_tokens}")
        device = self.model.device
        kwargs: dict[str, Any] = {
            "num_beams": params.num_beams,
            "max_new_tokens": params.new_token_limit(longest, self.info),
            "early_stopping": params.num_beams > 1,
        }
        if params.num_beams > 1:  # transformers ignores (and warns about) it in greedy search
            kwargs["length_penalty"] = params.length_penalty
        if params.no_repeat_ngram_size:
            kwargs["no_repeat_ngram_size"] = params.no_repeat_ngram_size
        if params.repetition_penalty != 1.0:
            kwargs["repetition_penalty"] = params.repetition_penalty
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=encoded["input_ids"].to(device),
                attention_mask=encoded["attention_mask"].to(device),
                **kwargs,
            )
        with self._tokenizer_lock:
            decoded = self.tokenizer.batch_decode(output, skip_special_tokens=True)
        pad_id = self.model.generation_config.pad_token_id
        start_id = self.model.generation_config.decoder_start_token_id
        # Generated tokens: everything but padding and the decoder start token.
        output_lengths = ((output != pad_id) & (output != start_id)).sum(dim=1).tolist()
        return [
            Generation(text=text.strip(), input_tokens=int(n_in), output_tokens=int(n_out))
            for text, n_in, n_out in zip(decoded, input_lengths, output_lengths, strict=True)
        ]
