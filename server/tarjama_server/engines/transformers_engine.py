"""Hugging Face ``transformers`` + ``torch`` inference."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from .base import (
    GUIDED_HEAD,
    AlignmentHead,
    Generation,
    GenerationParams,
    Hypothesis,
    ModelInfo,
    TokenAlignment,
    TokenizedEngine,
    mean_log_probability,
)


@dataclasses.dataclass
class CapturedAttention:
    weights: Any = None  # (batch, target, source): the head's attention, once the pass ran


class CrossAttentionProbe:
    """Reads one decoder layer's cross-attention (the mean of its first ``heads`` heads) while a
    ``capture`` is open on the calling thread. It recomputes the head's weights from the layer's
    own query and key projections, so it works whatever attention kernel the model runs (sdpa,
    the default, returns no weights), and only for the heads asked. For Bart-family decoders
    (Marian, Bart, mBART), whose layers hold ``encoder_attn``."""

    def __init__(self, model: Any, head: AlignmentHead = GUIDED_HEAD) -> None:
        layers = model.get_decoder().layers
        self.attention = layers[head.layer].encoder_attn
        self.heads = head.heads
        self._active = threading.local()  # other threads' generate calls run the model unobserved
        self.attention.register_forward_pre_hook(self._read, with_kwargs=True)

    @contextlib.contextmanager
    def capture(self, source_mask: Any) -> Iterator[CapturedAttention]:
        """While open, each forward pass on this thread stores its weights (``source_mask``:
        (batch, source), 0 on padding)."""
        captured = CapturedAttention()
        self._active.value = (captured, source_mask)
        try:
            yield captured
        finally:
            self._active.value = None

    def _read(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        active = getattr(self._active, "value", None)
        if active is None:
            return
        captured, source_mask = active
        hidden = args[0] if args else kwargs["hidden_states"]
        keys_from = kwargs["key_value_states"]
        batch, target, _ = hidden.shape
        source = keys_from.shape[1]
        head_dim = module.head_dim
        query = module.q_proj(hidden).view(batch, target, -1, head_dim)[:, :, : self.heads].transpose(1, 2)
        key = module.k_proj(keys_from).view(batch, source, -1, head_dim)[:, :, : self.heads].transpose(1, 2)
        scores = (query @ key.transpose(-1, -2)) * module.scaling
        scores = scores.masked_fill(source_mask[:, None, None, :] == 0, float("-inf"))
        captured.weights = scores.softmax(dim=-1).mean(dim=1)


class TransformersEngine(TokenizedEngine):
    """Runs ``model.generate`` for any ``AutoModelForSeq2SeqLM`` (Marian, mT5...)."""

    def __init__(
        self, model: Any, tokenizer: Any, info: ModelInfo, *, alignment_head: AlignmentHead | None = None
    ) -> None:
        super().__init__(tokenizer, info)
        self.model = model
        # Alignment needs a Bart-family decoder (the translation models); None: not available.
        self._probe: CrossAttentionProbe | None = None
        if alignment_head is not None and hasattr(model, "get_decoder"):
            with contextlib.suppress(AttributeError, IndexError):
                self._probe = CrossAttentionProbe(model, alignment_head)

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
        best = list(range(0, len(sequences), hypotheses))
        aligned: list[TokenAlignment | None] = [None] * len(input_lengths)
        if params.alignment:
            aligned = self._align(
                list(texts), encoded, [sequences[k] for k in best], [decoded[k] for k in best], pad_id, start_id
            )
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
                    tokens=aligned[index],
                )
            )
        return generations

    def _align(
        self, texts: list[str], encoded: Any, outputs: list[Any], decoded: list[str], pad_id: int, start_id: int
    ) -> list[TokenAlignment | None]:
        """One forced pass of the model over the outputs it chose: the alignment head's
        attention and each output token's log-probability, exact whatever the search was."""
        import torch

        if self._probe is None:
            raise ValueError(f"word alignment is not available for {self.info.id}: its decoder has no alignment head")
        tokens = [[int(i) for i in output.tolist() if i not in (pad_id, start_id)] for output in outputs]
        longest = max(1, max(map(len, tokens)))
        labels = torch.full((len(tokens), longest), pad_id)
        for row, ids in enumerate(tokens):
            labels[row, : len(ids)] = torch.tensor(ids, dtype=labels.dtype)
        decoder_input = torch.cat([torch.full((len(tokens), 1), start_id), labels[:, :-1]], dim=1)
        device = self.model.device
        mask = encoded["attention_mask"].to(device)
        with torch.inference_mode(), self._probe.capture(mask) as captured:
            logits = self.model(
                input_ids=encoded["input_ids"].to(device),
                attention_mask=mask,
                decoder_input_ids=decoder_input.to(device),
                use_cache=False,
            ).logits
        log_probs = logits.float().log_softmax(dim=-1).gather(-1, labels.to(device)[..., None])[..., 0].cpu()
        weights = captured.weights.float().cpu()
        read = encoded["attention_mask"].bool()  # the source tokens, wherever the padding side puts them
        results: list[TokenAlignment | None] = []
        with self._tokenizer_lock:
            for row, ids in enumerate(tokens):
                n_source, n_target = int(read[row].sum()), len(ids)
                results.append(
                    TokenAlignment(
                        source_spans=self.source_spans(texts[row], n_source),
                        target_spans=self.target_spans(decoded[row], self.tokenizer.convert_ids_to_tokens(ids)),
                        attention=tuple(tuple(weights[row, t][read[row]].tolist()) for t in range(n_target)),
                        log_probs=tuple(log_probs[row, :n_target].tolist()),
                    )
                )
        return results

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
