"""CTranslate2 inference: the same Marian and mT5 models, converted once, run by a
C++ runtime with int8 weights on CPU (about 4x the tokens per second of fp32
transformers on 2 cores; see the README) and float16 on CUDA.

The Hugging Face tokenizer stays in charge of text ↔ tokens, so segmentation,
token counts and decoded text are the same as with ``TransformersEngine``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import (
    Generation,
    GenerationParams,
    Hypothesis,
    ModelInfo,
    TokenAlignment,
    TokenizedEngine,
    mean_log_probability,
)


class CTranslate2Engine(TokenizedEngine):
    """Runs ``ctranslate2.Translator.translate_batch`` on a converted model directory.

    Alignment: ``return_attention`` gives, per output token, the attention of the head chosen
    when the model was converted (``loading.conversion``: the decoder spec's ``alignment_layer``
    and ``alignment_heads``); ``score_batch`` then scores the chosen output once more for each
    token's log-probability, as the transformers engine's forced pass does."""

    def __init__(self, translator: Any, tokenizer: Any, info: ModelInfo) -> None:
        super().__init__(tokenizer, info)
        self.translator = translator

    def generate(self, texts: Sequence[str], params: GenerationParams) -> list[Generation]:
        if not texts:
            return []
        with self._tokenizer_lock:
            sources = [self.tokenizer.convert_ids_to_tokens(ids) for ids in self.tokenizer(list(texts))["input_ids"]]
        longest = max(len(tokens) for tokens in sources)
        if longest > self.info.max_input_tokens:
            # Segmentation guarantees this never happens; refuse rather than truncate.
            raise ValueError(f"input of {longest} tokens exceeds the model window of {self.info.max_input_tokens}")
        hypotheses = params.alternatives + 1
        results = self.translator.translate_batch(
            sources,
            beam_size=params.beam_width,
            num_hypotheses=hypotheses,
            max_decoding_length=params.new_token_limit(longest, self.info),
            # As transformers: end-of-sequence may come first (CTranslate2's default forbids it).
            min_decoding_length=0,
            length_penalty=params.length_penalty,
            no_repeat_ngram_size=params.no_repeat_ngram_size,
            repetition_penalty=params.repetition_penalty,
            # Counted as an output token, as transformers counts it.
            return_end_token=True,
            # Summed log-probability / length ** length_penalty (greedy search too).
            return_scores=params.scores,
            return_attention=params.alignment,
            max_input_length=0,  # lengths were checked above: never truncate
        )
        aligned: list[TokenAlignment | None] = [None] * len(results)
        if params.alignment:
            aligned = self._align(list(texts), sources, results)
        generations: list[Generation] = []
        with self._tokenizer_lock:
            for tokens, result in zip(sources, results, strict=True):
                scores = result.scores if params.scores else [None] * len(result.hypotheses)
                outputs = [
                    (
                        self._decode(output),
                        None if score is None else mean_log_probability(score, len(output), params.length_penalty),
                    )
                    for output, score in zip(result.hypotheses, scores, strict=True)
                ]
                (text, score), *others = outputs
                generations.append(
                    Generation(
                        text=text,
                        input_tokens=len(tokens),
                        output_tokens=len(result.hypotheses[0]),
                        log_probability=score,
                        alternatives=tuple(Hypothesis(other, other_score or 0.0) for other, other_score in others),
                        tokens=aligned[len(generations)],
                    )
                )
        return generations

    def _align(self, texts: list[str], sources: list[list[str]], results: list[Any]) -> list[TokenAlignment | None]:
        outputs = [result.hypotheses[0] for result in results]
        end = self.tokenizer.eos_token
        # Scored without the end token: score_batch adds it and scores it too.
        scored = self.translator.score_batch(
            sources, [[token for token in output if token != end] for output in outputs], max_input_length=0
        )
        aligned: list[TokenAlignment | None] = []
        with self._tokenizer_lock:
            for text, source, output, result, score in zip(texts, sources, outputs, results, scored, strict=True):
                decoded = self._decode(output)
                log_probs = list(score.log_probs)
                if output and output[-1] != end:  # cut at the length cap: no end token was written
                    log_probs = log_probs[:-1]
                aligned.append(
                    TokenAlignment(
                        source_spans=self.source_spans(text, len(source)),
                        target_spans=self.target_spans(decoded, output),
                        attention=tuple(tuple(row) for row in result.attention[0]),
                        log_probs=tuple(log_probs),
                    )
                )
        return aligned

    def _decode(self, tokens: list[str]) -> str:
        ids = self.tokenizer.convert_tokens_to_ids(tokens)
        return str(self.tokenizer.decode(ids, skip_special_tokens=True)).strip()
