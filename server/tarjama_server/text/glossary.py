"""A request's glossary: source terms that must come out with a given rendering
(people, places, organisations: "الأونروا" → "UNRWA").

Opus-MT cannot be told what to write, but it copies Latin-script names it sees in
its input. So each occurrence of a term in a segment is replaced by its rendering
before the segment reaches the model ("source-side injection"); the translation is
then checked for the rendering, and the terms the model dropped are reported.

Matching is on whole words. Arabic attaches clitics to the front of a word: the
conjunctions و/ف, the prepositions ب/ل/ك and the article ال ("والأونروا",
"بالأونروا", "للأونروا" where ل + ال becomes لل). Those prefixes are accepted; the
conjunction or preposition is kept in front of the rendering (so "and" or "in" can
still be translated), the article is dropped with the term. A term never matches
inside another word, and Arabic letter variants that writers mix (أ إ آ ا, ى ي, ة ه)
match each other. Matches are found longest term first and never overlap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import InvalidRequestError

MAX_TERMS = 500
MAX_TERM_CHARS = 200

# One character for one, so offsets in the folded text are offsets in the original.
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_ARTICLE = "ال"


@dataclass(frozen=True)
class TermMatch:
    """``text[start:end]`` is the whole matched word; ``prefix`` the clitics kept before the rendering."""

    start: int
    end: int
    term: str
    rendering: str
    prefix: str


def _is_arabic(term: str) -> bool:
    return any("\u0600" <= char <= "\u06ff" for char in term)


def _pattern(term: str) -> re.Pattern[str]:
    folded = term.translate(_FOLD)
    body = re.escape(folded)
    if _is_arabic(term):
        if folded.startswith(_ARTICLE):
            core = re.escape(folded[len(_ARTICLE) :])
            # و/ف, then ب/ك with the article, or ل fused with it (لل).
            clitics = r"(?P<prefix>[وف]?(?:[بك](?=ال)|ل(?=ل))?)(?:ال|(?<=ل)ل)"
            body = core
        else:
            clitics = r"(?P<prefix>[وف]?[بلك]?)(?:ال)?"
        return re.compile(rf"(?<!\w){clitics}{body}(?!\w)")
    return re.compile(rf"(?<!\w)(?P<prefix>){body}(?!\w)", re.IGNORECASE)


class Glossary:
    def __init__(self, terms: Mapping[str, str]) -> None:
        self.terms = dict(terms)
        # Longest first: "الأمم المتحدة" wins over "الأمم".
        self._patterns = [
            (term, rendering, _pattern(term))
            for term, rendering in sorted(self.terms.items(), key=lambda item: -len(item[0]))
        ]

    @classmethod
    def checked(cls, terms: Mapping[str, str]) -> Glossary:
        """A glossary from a request, or InvalidRequestError saying what to fix."""
        if len(terms) > MAX_TERMS:
            raise InvalidRequestError(f"glossary has {len(terms)} terms, over the limit of {MAX_TERMS}")
        for term, rendering in terms.items():
            if not term.strip() or not rendering.strip():
                raise InvalidRequestError(f"glossary entry {term!r} → {rendering!r}: both sides must hold text")
            if term != term.strip() or len(term) > MAX_TERM_CHARS or len(rendering) > MAX_TERM_CHARS:
                raise InvalidRequestError(
                    f"glossary term {term[:40]!r}: no surrounding spaces, at most {MAX_TERM_CHARS} characters a side"
                )
        return cls(terms)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def find(self, text: str) -> list[TermMatch]:
        """Every non-overlapping whole-word occurrence of a term in ``text``, in text order."""
        folded = text.translate(_FOLD)
        taken: list[TermMatch] = []
        for term, rendering, pattern in self._patterns:
            for match in pattern.finditer(folded):
                if any(match.start() < other.end and other.start < match.end() for other in taken):
                    continue
                prefix = text[match.start() : match.start() + len(match.group("prefix"))]
                taken.append(TermMatch(match.start(), match.end(), term, rendering, prefix))
        return sorted(taken, key=lambda found: found.start)

    def inject(self, text: str) -> tuple[str, list[TermMatch]]:
        """``text`` with each term replaced by its rendering, and the matches."""
        matches = self.find(text)
        pieces, position = [], 0
        for found in matches:
            pieces += [text[position : found.start], f"{found.prefix} " if found.prefix else "", found.rendering]
            position = found.end
        pieces.append(text[position:])
        return "".join(pieces), matches

    @staticmethod
    def injected_origins(text: str, matches: Sequence[TermMatch]) -> list[tuple[int, int]]:
        """For each character of ``inject(text)``'s result, the range of ``text`` it stands for:
        itself, or the whole matched word for a rendering and the clitics before it."""
        origins: list[tuple[int, int]] = []
        position = 0
        for found in matches:
            origins += [(index, index + 1) for index in range(position, found.start)]
            injected = len(found.rendering) + (len(found.prefix) + 1 if found.prefix else 0)
            origins += [(found.start, found.end)] * injected
            position = found.end
        origins += [(index, index + 1) for index in range(position, len(text))]
        return origins

    @staticmethod
    def missing(translation: str, matches: Sequence[TermMatch]) -> list[str]:
        """Terms whose rendering the model did not write (each once, in order)."""
        return list(dict.fromkeys(found.term for found in matches if found.rendering not in translation))
