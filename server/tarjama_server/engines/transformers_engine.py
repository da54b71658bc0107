"""Hugging Face ``transformers`` + ``torch`` inference."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import Generation, GenerationParams, Hypothesis, ModelInfo, TokenizedEngine, mean_log_probability


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
        beams, hypotheses = params.beam_width, params.alternatives + 1
        kwargs: dict[str, Any] = {
            "num_beams": beams,
            "max_new_tokens": params.new_token_limit(longest, self.info),
            "early_stopping": beams > 1,
            # The scores: beam search's sequences_scores, or greedy search's per-step logits.
            "return_dict_in_generate": True,
            "output_scores": params.scores,
            # No end token forced at the length cap (Marian's config asks for one): it would score as
            # certain (log-probability 0) and lift the mean; CTranslate2 forces none either.
            "forced_eos_token_id": None,
        }
        if beams > 1:  # transformers ignores (and warns about) it in greedy search
            kwargs["length_penalty"] = params.length_penalty
        if hypotheses > 1:
            kwargs["num_return_sequences"] = hypotheses
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
            sequences = output.sequences
            pad_id = self.model.generation_config.pad_token_id
            start_id = self.model.generation_config.decoder_start_token_id
            # Generated tokens: everything but padding and the decoder start token.
            output_lengths = ((sequences != pad_id) & (sequences != start_id)).sum(dim=1).tolist()
            scores = self._mean_log_probabilities(output, pad_id, params) if params.scores else [None] * len(sequences)
        with self._tokenizer_lock:
            decoded = [text.strip() for text in self.tokenizer.batch_decode(sequences, skip_special_tokens=True)]
        generations = []
        for index, n_in in enumerate(input_lengths):
            first = index * hypotheses
            generations.append(
                Generation(
                    text=decoded[first],
                    input_tokens=int(n_in),
                    output_tokens=int(output_lengths[first]),
                    log_probability=scores[first],
                    alternatives=tuple(
                        Hypothesis(decoded[k], scores[k] or 0.0) for k in range(first + 1, first + hypotheses)
                    ),
                )
            )
        return generations

    def _mean_log_probabilities(self, output: Any, pad_id: int, params: GenerationParams) -> list[float]:
        """Each returned sequence's mean log-probability per generated token (end token included)."""
        import torch

        # Beam search: sequences_scores is the summed log-probs / length ** length_penalty.
        if getattr(output, "sequences_scores", None) is not None:
            # beam_indices is -1 past each hypothesis' end: its length, as transformers divided by it.
            lengths = (output.beam_indices >= 0).sum(dim=1).tolist()
            return [
                mean_log_probability(float(score), int(length), params.length_penalty)
                for score, length in zip(output.sequences_scores.tolist(), lengths, strict=True)
            ]
        # Greedy search: the log-softmax of each step's (processed) logits at the token chosen.
        steps = self.model.compute_transition_scores(output.sequences, output.scores, normalize_logits=True)
        generated = output.sequences[:, -steps.shape[1] :] != pad_id  # padding after the end token
        summed = torch.where(generated, steps, torch.zeros_like(steps)).sum(dim=1)
        lengths = generated.sum(dim=1).clamp(min=1)
        return (summed / lengths).tolist()
