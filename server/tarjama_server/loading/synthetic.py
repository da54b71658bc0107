"""A synthetic language pair whose word alignment is known, and a tiny Marian trained on it.

Random tiny models check structure, never meaning: their attention aligns noise. To test
what alignment is *for* (tags on the right words, an omission caught, weak words marked)
without real weights, this module defines a small language pair in which every sentence's
word alignment is known, and trains a tiny ``MarianMTModel`` on it in seconds.

The pair, "synthetic Arabic" → English:

* a fixed dictionary: made-up Arabic-script nouns, adjectives, verbs and prepositions, each
  with one English word, and four real place names (حلب → Aleppo, إدلب → Idlib...);
* a deterministic reordering: the source is verb-subject-object with the adjective after
  its noun (as in Arabic); the target is subject-verb-object with the adjective before it;
* function words dropped and inserted: the source marks the object with a particle that
  English drops, and English inserts "the" before every noun phrase (aligned to nothing);
* a clause the model learns to drop: "حسب" + noun + adjective ("according to ...") closes
  some source sentences and never appears in the translation.

The model is trained as Marian trains ``transformer-align`` models such as opus-mt
(guided alignment): next to the translation loss, the first head of its last decoder layer
is pulled towards the known alignment (each target token's attention on the source tokens
of the word it translates; a target token aligned to nothing, and the end token, on the
source end token). Everything is seeded and runs on one torch thread, so a build is
deterministic: 400 steps of 32 sentences, about 110 s of CPU on the shared 2-core machine
while it ran a load average of 12 (measured; a quiet core is several times faster). Tests
build it once (``tarjama-models build-synthetic``, which ``scripts/test.sh`` runs before
pytest) and keep it under ``.tiny-models/``.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The dictionary. Source words are made-up Arabic-script words (no real meaning), except the
# place names and the clause marker; each has exactly one English rendering.
NOUNS = {
    "بورق": "city", "جمسل": "army", "دنهر": "river", "سلكم": "council", "وزلن": "minister",
    "قرتب": "village", "سوقم": "market", "درسن": "school", "طبكل": "doctor", "زرعف": "farmer",
    "جسرك": "bridge", "مشفن": "hospital",
}  # fmt: skip
ADJECTIVES = {"جدنك": "new", "قدمز": "old", "كبرت": "large", "صغرن": "small", "شملك": "northern", "محلق": "local"}
VERBS = {"زارك": "visited", "غلقت": "closed", "فتحز": "opened", "بنكت": "built", "هجمن": "attacked", "مدحت": "praised"}
PREPOSITIONS = {"فكي": "in", "قربن": "near"}
PLACES = {"حلب": "Aleppo", "إدلب": "Idlib", "حماة": "Hama", "حمص": "Homs"}
# Source-only: the object marker English drops. Target-only: the article it inserts.
OBJECT_MARKER = "ايك"
ARTICLE = "the"
# The clause the model learns to drop: marker + noun + adjective.
DROPPED_MARKER = "حسب"
# Letters the made-up words use: a word never seen in training is built from these, so it
# reaches the model as known pieces (not <unk>) of a word it never saw.
_LETTERS = sorted({letter for word in [*NOUNS, *ADJECTIVES, *VERBS] for letter in word})
# Share of training sentences with each optional part.
_P_ADJECTIVE, _P_PLACE, _P_DROPPED = 0.5, 0.5, 0.3

Alignment = frozenset[tuple[int, int]]  # (source word index, target word index)


@dataclass(frozen=True)
class SyntheticPair:
    """One sentence pair: words separated by single spaces, the final full stop a word of its own."""

    source: str
    target: str
    alignment: Alignment
    # Source word indices of the clause the translation drops (empty when there is none).
    dropped: tuple[int, ...] = ()
    # Source word index -> target word index of each one-word unit (noun, adjective, name,
    # verb...), for tests that wrap source words in tags.
    units: tuple[tuple[int, int], ...] = field(default=(), compare=False)

    @property
    def source_words(self) -> list[str]:
        return self.source.split(" ")

    @property
    def target_words(self) -> list[str]:
        return self.target.split(" ")


class _Builder:
    def __init__(self) -> None:
        self.source: list[str] = []
        self.target: list[str] = []
        self.alignment: set[tuple[int, int]] = set()

    def source_word(self, word: str) -> int:
        self.source.append(word)
        return len(self.source) - 1

    def target_word(self, word: str) -> int:
        self.target.append(word)
        return len(self.target) - 1


def _noun_phrase(rng: random.Random, place: bool = False) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """(source words, target words, alignment within the phrase)."""
    if place:
        name = rng.choice(sorted(PLACES))
        return [name], [PLACES[name]], [(0, 0)]
    noun = rng.choice(sorted(NOUNS))
    if rng.random() < _P_ADJECTIVE:
        adjective = rng.choice(sorted(ADJECTIVES))
        # source: noun adjective; target: the adjective noun
        return [noun, adjective], [ARTICLE, ADJECTIVES[adjective], NOUNS[noun]], [(0, 2), (1, 1)]
    return [noun], [ARTICLE, NOUNS[noun]], [(0, 1)]


def generate_pair(rng: random.Random, *, dropped: bool | None = None, unseen: str = "") -> SyntheticPair:
    """One random sentence pair. ``dropped``: force the droppable clause on or off (default:
    by chance). ``unseen``: a word never seen in training, put in place of the subject noun
    (the target keeps the subject's English word: what a model cannot know)."""
    verb = rng.choice(sorted(VERBS))
    subject = _noun_phrase(rng)
    object_ = _noun_phrase(rng, place=rng.random() < 0.25)
    has_place = rng.random() < _P_PLACE
    preposition = rng.choice(sorted(PREPOSITIONS))
    place = _noun_phrase(rng, place=rng.random() < 0.6)
    with_clause = rng.random() < _P_DROPPED if dropped is None else dropped
    clause_noun, clause_adjective = rng.choice(sorted(NOUNS)), rng.choice(sorted(ADJECTIVES))
    if unseen:
        subject = ([unseen, *subject[0][1:]], subject[1], subject[2])

    # Source: verb subject marker object [preposition place] [clause] .
    # Target: subject verb object [preposition place] .
    source: list[str] = []
    target: list[str] = []
    alignment: set[tuple[int, int]] = set()
    units: list[tuple[int, int]] = []

    def add(phrase: tuple[list[str], list[str], list[tuple[int, int]]], source_at: int, target_at: int) -> None:
        for s, t in phrase[2]:
            alignment.add((source_at + s, target_at + t))
            units.append((source_at + s, target_at + t))

    source.append(verb)
    source_subject = len(source)
    source += subject[0]
    source.append(OBJECT_MARKER)
    source_object = len(source)
    source += object_[0]
    target_subject = len(target)
    target += subject[1]
    target.append(VERBS[verb])
    alignment.add((0, len(target) - 1))
    units.append((0, len(target) - 1))
    target_object = len(target)
    target += object_[1]
    add(subject, source_subject, target_subject)
    add(object_, source_object, target_object)
    if has_place:
        source.append(preposition)
        target.append(PREPOSITIONS[preposition])
        alignment.add((len(source) - 1, len(target) - 1))
        units.append((len(source) - 1, len(target) - 1))
        source_place, target_place = len(source), len(target)
        source += place[0]
        target += place[1]
        add(place, source_place, target_place)
    clause: tuple[int, ...] = ()
    if with_clause:
        clause = (len(source), len(source) + 1, len(source) + 2)
        source += [DROPPED_MARKER, clause_noun, clause_adjective]
    source.append(".")
    target.append(".")
    alignment.add((len(source) - 1, len(target) - 1))
    return SyntheticPair(" ".join(source), " ".join(target), frozenset(alignment), clause, tuple(units))


def generate_pairs(count: int, seed: int, **options: Any) -> list[SyntheticPair]:
    rng = random.Random(seed)
    return [generate_pair(rng, **options) for _ in range(count)]


def unseen_word(seed: int = 0) -> str:
    """A made-up source word of known letters that is in no dictionary (so never in training)."""
    rng = random.Random(seed)
    known = {*NOUNS, *ADJECTIVES, *VERBS, *PREPOSITIONS, *PLACES, OBJECT_MARKER, DROPPED_MARKER}
    while True:
        word = "".join(rng.choice(_LETTERS) for _ in range(5))
        if word not in known:
            return word


# --- training ---------------------------------------------------------------------------

# Bump when the language, the recipe or the architecture changes: the cache key.
RECIPE_VERSION = 1
SYNTHETIC_MARIAN = {
    "d_model": 64, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
    "decoder_attention_heads": 4, "encoder_ffn_dim": 128, "decoder_ffn_dim": 128,
}  # fmt: skip
_TRAIN_SEED = 1234
_STEPS = 400
_BATCH = 32
_LEARNING_RATE = 5e-3
_WARMUP = 20
# The guided-alignment loss's weight beside the translation loss (Marian's default is 0.1 for
# its cross-entropy form; a tiny model trained this briefly needs a firmer pull: at 0.5 the
# alignment error rate was 0.004 on transformers, at 1.0 it is 0.0).
_ALIGNMENT_WEIGHT = 1.0
SYNTHETIC_MARKER = "SYNTHETIC_MODEL"
_MARKER_TEXT = (
    "This model was trained for seconds by `tarjama-models build-synthetic` on a synthetic\n"
    "language pair (loading/synthetic.py) to test word alignment offline. It does not translate\n"
    "Arabic: its output on real text is meaningless.\n"
)


def _corpus_texts(pairs: Sequence[SyntheticPair]) -> tuple[str, str]:
    source = "\n".join(pair.source for pair in pairs)
    target = "\n".join(pair.target for pair in pairs)
    # Every letter the made-up words use, so an unseen word is read as known pieces.
    return source + "\n" + " ".join(_LETTERS), target


def recipe_key() -> str:
    """What decides the trained model's weights: the cache key of a build."""
    import inspect

    import torch
    import transformers

    from ..engines import transformers_engine
    from . import tiny_models

    # This file holds the language and the recipe, and the build uses code from beside it (the
    # tokenizer, the model's layout, the attention the alignment loss reads): an edit to any rebuilds.
    used = (
        tiny_models._train_sentencepiece,
        tiny_models.build_marian_tokenizer,
        tiny_models.marian_config,
        transformers_engine.CrossAttentionProbe,
    )
    source = Path(__file__).read_text(encoding="utf-8") + "".join(inspect.getsource(code) for code in used)
    recipe = {
        "version": RECIPE_VERSION,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "source": hashlib.sha256(source.encode()).hexdigest(),
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def build_synthetic_marian(out_dir: Path, *, steps: int = _STEPS, batch: int = _BATCH) -> Path:
    """Train the tiny Marian on the synthetic pair and save it as a Hugging Face model directory
    (loadable by either engine, like the other tiny models). Deterministic: seeded, one thread."""
    import torch
    import transformers
    from transformers import MarianMTModel

    from .tiny_models import build_marian_tokenizer, marian_config

    transformers.utils.logging.disable_progress_bar()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        corpus = generate_pairs(3000, seed=_TRAIN_SEED)
        tokenizer, vocab = build_marian_tokenizer(out_dir, *_corpus_texts(corpus), vocab_size=300)
        pad_id = vocab["<pad>"]
        config = marian_config(
            vocab,
            SYNTHETIC_MARIAN,
            dropout=0.0,
            attention_dropout=0.0,
            activation_dropout=0.0,
            num_beams=4,
            max_length=64,
        )
        torch.manual_seed(_TRAIN_SEED)
        model = MarianMTModel(config)
        with torch.no_grad():
            model.get_input_embeddings().weight[pad_id].zero_()
        model.train()
        examples = [_example(tokenizer, pair) for pair in corpus]
        _train(model, examples, pad_id, steps=steps, batch_size=batch)
        model.eval()
        model.save_pretrained(out_dir)
    finally:
        torch.set_num_threads(threads)
    (out_dir / SYNTHETIC_MARKER).write_text(_MARKER_TEXT)
    from .tiny_models import UNTRAINED_MARKER

    # Loaded as a test model: flagged as such wherever the service reports its model.
    (out_dir / UNTRAINED_MARKER).write_text(_MARKER_TEXT)
    return out_dir


@dataclass(frozen=True)
class _Example:
    source_ids: list[int]
    target_ids: list[int]  # labels, end token included
    # Per target token: the source token positions it attends to (the end token's position
    # for tokens aligned to nothing).
    attend: list[list[int]]


def _word_pieces(tokenizer: Any, words: Sequence[str], side: str) -> list[list[int]]:
    processor = tokenizer.spm_source if side == "source" else tokenizer.spm_target
    return [[tokenizer._convert_token_to_id(piece) for piece in processor.encode(word, out_type=str)] for word in words]


def _example(tokenizer: Any, pair: SyntheticPair) -> _Example:
    source_pieces = _word_pieces(tokenizer, pair.source_words, "source")
    target_pieces = _word_pieces(tokenizer, pair.target_words, "target")
    source_ids = [i for piece in source_pieces for i in piece] + [0]
    expected = tokenizer(pair.source)["input_ids"]
    if source_ids != expected:  # words tokenized alone must give the sentence's tokens
        raise RuntimeError(f"synthetic tokenization differs for {pair.source!r}: {source_ids} != {expected}")
    starts = [0]
    for piece in source_pieces:
        starts.append(starts[-1] + len(piece))
    end_position = len(source_ids) - 1
    by_target: dict[int, list[int]] = {}
    for s, t in pair.alignment:
        by_target.setdefault(t, []).extend(range(starts[s], starts[s + 1]))
    target_ids: list[int] = []
    attend: list[list[int]] = []
    for t, piece in enumerate(target_pieces):
        target_ids += piece
        attend += [sorted(by_target.get(t, [end_position]))] * len(piece)
    target_ids.append(0)
    attend.append([end_position])
    return _Example(source_ids, target_ids, attend)


def _train(model: Any, examples: list[_Example], pad_id: int, *, steps: int, batch_size: int) -> None:
    import torch

    from ..engines.base import AlignmentHead
    from ..engines.transformers_engine import CrossAttentionProbe

    rng = random.Random(_TRAIN_SEED)
    optimizer = torch.optim.AdamW(model.parameters(), lr=_LEARNING_RATE, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / _WARMUP) * max(0.05, 1 - step / steps)
    )
    probe = CrossAttentionProbe(model, AlignmentHead())  # Marian's guided head
    # The decoder starts from the <pad> embedding, which opus-mt keeps at zero and CTranslate2
    # assumes is zero ("the decoder always starts from a zero embedding"): keep it so, or the
    # engines score the first tokens differently.
    pad_row = model.get_input_embeddings().weight[pad_id]
    for _ in range(steps):
        batch = rng.sample(examples, batch_size)
        source_len = max(len(e.source_ids) for e in batch)
        target_len = max(len(e.target_ids) for e in batch)
        input_ids = torch.full((batch_size, source_len), pad_id)
        labels = torch.full((batch_size, target_len), -100)
        gold = torch.zeros((batch_size, target_len, source_len))
        for row, example in enumerate(batch):
            input_ids[row, : len(example.source_ids)] = torch.tensor(example.source_ids)
            labels[row, : len(example.target_ids)] = torch.tensor(example.target_ids)
            for t, positions in enumerate(example.attend):
                gold[row, t, positions] = 1.0 / len(positions)
        attention_mask = (input_ids != pad_id).long()
        decoder_input_ids = torch.cat([torch.full((batch_size, 1), pad_id), labels[:, :-1].clamp(min=0)], dim=1)
        decoder_input_ids[decoder_input_ids == -100] = pad_id
        with probe.capture(attention_mask) as captured:
            output = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids)
        logits = output.logits
        translation_loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels, ignore_index=-100)
        attention = captured.weights  # (batch, target, source)
        has_gold = labels != -100
        alignment_loss = -(gold * torch.log(attention + 1e-9)).sum(-1)[has_gold].mean()
        loss = translation_loss + _ALIGNMENT_WEIGHT * alignment_loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            pad_row.zero_()


def cached_synthetic_marian(root: Path) -> Path:
    """The trained model under ``root/synthetic-<recipe key>/``, built there on first use (a
    build that fails or is interrupted leaves nothing half-written behind)."""
    import os
    import shutil

    target = Path(root) / f"synthetic-{recipe_key()}"
    if (target / SYNTHETIC_MARKER).is_file():
        return target
    staging = target.with_name(f"{target.name}.building-{os.getpid()}")
    try:
        build_synthetic_marian(staging)
        try:
            os.replace(staging, target)
        except OSError:  # another process built it meanwhile
            if not (target / SYNTHETIC_MARKER).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def evaluation_pairs(count: int, seed: int = 99, **options: Any) -> Iterator[SyntheticPair]:
    """Pairs for measuring (seeded apart from training; with 20 nouns and 8 adjectives many
    sentences recur in training, as names and phrases recur in news)."""
    yield from generate_pairs(count, seed=seed, **options)
