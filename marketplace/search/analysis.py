"""Text analysis shared by every back-end: rjieba for Chinese, lower-case + Porter stem for Latin.

One function turns text into index terms, so Whoosh and PostgreSQL index exactly the same terms
and find the same documents. Queries are built from terms programmatically: the user's text is
never parsed as query syntax, so ``AND``, ``*``, ``"`` or ``(`` are just characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import rjieba
from markupsafe import Markup, escape
from whoosh.analysis import Token, Tokenizer
from whoosh.lang.porter import stem

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 12
MAX_TERM_CHARS = 60

# Letters and digits (CJK included), without the underscore.
_ALNUM_RUN = re.compile(r"[^\W_]+")
# Unified ideographs (not the compatibility block, which NFKC changes); at most MAX_TERM_CHARS.
_CJK_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{1,60}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SPACES = re.compile(r"\s+")
# Full-width ASCII and the ideographic space fold to ASCII one for one, so offsets stay valid.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on",
    "or", "the", "to", "with",
    "的", "了", "和", "与", "及", "或", "在", "是", "等", "之", "为", "并", "以及", "及其", "对", "由",
    "将", "从", "把", "被",
})


def _is_cjk(text: str) -> bool:
    return any(
        "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\U00020000" <= ch <= "\U0003134f"
        for ch in text
    )


def clean_text(text: str | None, limit: int | None = None) -> str:
    """Text without NUL and other control characters (PostgreSQL rejects NUL), optionally cut."""
    text = _CONTROL.sub("", text or "")
    return text[:limit] if limit is not None else text


@lru_cache(maxsize=200_000)
def normalize_term(raw: str) -> str:
    """One token as an index term: NFKC, lower-case, Latin words stemmed; '' for stop words."""
    word = "".join(_ALNUM_RUN.findall(unicodedata.normalize("NFKC", raw).lower()))
    if not word or word in STOP_WORDS or len(word) > MAX_TERM_CHARS:
        return ""
    if word.isascii() and word.isalpha():
        word = stem(word)
    return word


def iter_terms(text: str, *, search_mode: bool = True) -> Iterator[tuple[str, int, int]]:
    """Index terms of ``text`` with their character spans.

    Search mode adds the dictionary sub-words of long words (中华人民共和国 also gives 人民,
    共和国), so a shorter query word still finds the longer one.
    """
    if not text:
        return
    folded = text.translate(_FULLWIDTH)
    mode = "search" if search_mode else "default"
    for word, start, _end in rjieba.tokenize(folded, mode=mode):
        if word.isspace():
            continue
        for match in _ALNUM_RUN.finditer(word):
            term = normalize_term(match.group())
            if term:
                yield term, start + match.start(), start + match.end()


def index_terms(text: str) -> list[str]:
    """The terms of ``text`` in order (repeats kept, for term frequencies)."""
    return [term for term, _s, _e in iter_terms(text)]


class JiebaTokenizer(Tokenizer):
    """A Whoosh tokenizer producing exactly the terms of :func:`iter_terms`."""

    def __eq__(self, other):
        return self.__class__ is other.__class__

    def __hash__(self):
        return hash(self.__class__.__name__)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pairs = iter_terms(value) if tokenize else [(value, 0, len(value))]
        for pos, (term, start, end) in enumerate(pairs):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[start:end]
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


def jieba_analyzer() -> JiebaTokenizer:
    """The analyzer of the Whoosh text fields."""
    return JiebaTokenizer()


# A group matches when any of its alternatives matches; an alternative is a conjunction of terms.
Alternative = tuple[str, ...]
Group = tuple[Alternative, ...]

# Bounds on what synonyms add to one query word, so an odd table cannot make a query huge.
MAX_ALTERNATIVES = 24
MAX_PHRASE_ALTERNATIVES = 8


@dataclass(frozen=True)
class ParsedQuery:
    """The user's query as data: every group must match (AND); words are for LIKE and display.

    ``synonyms`` runs beside ``words``: the other texts a word also matches (from the synonym
    table), so the LIKE back-end and highlighting see them too.
    """

    text: str
    groups: tuple[Group, ...]
    words: tuple[str, ...]
    synonyms: tuple[tuple[str, ...], ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.groups

    @property
    def terms(self) -> frozenset[str]:
        """Every term that counts as a hit, for highlighting."""
        return frozenset(t for group in self.groups for alt in group for t in alt)

    @property
    def word_variants(self) -> tuple[tuple[str, ...], ...]:
        """Per word: the word and its synonyms (any of them matches)."""
        extra = self.synonyms + ((),) * (len(self.words) - len(self.synonyms))
        return tuple((word, *others) for word, others in zip(self.words, extra, strict=False))


def clean_query(text: str | None) -> str:
    """The query as the user meant it: no control characters, single spaces, at most 200 chars."""
    text = clean_text(text if isinstance(text, str) else "")
    return _SPACES.sub(" ", text[: MAX_QUERY_CHARS * 4]).strip()[:MAX_QUERY_CHARS]


def synonym_key(text: str) -> str:
    """A synonym term as compared with query words: NFKC, lower-case, without spaces."""
    return "".join(unicodedata.normalize("NFKC", (text or "").translate(_FULLWIDTH)).lower().split())


def is_synonym_term(text: str) -> bool:
    """Whether ``text`` (a :func:`synonym_key`) is one run of letters and digits that the query
    analysis keeps: what a query word can be compared with."""
    return bool(text) and _ALNUM_RUN.fullmatch(text) is not None and bool(_units(text))


@dataclass(frozen=True)
class _Unit:
    """One query word: its text (NFKC, lower-case), where it is, and its alternatives."""

    key: str
    start: int
    end: int
    alternatives: tuple[Alternative, ...]


def _word_alternatives(raw: str, term: str) -> tuple[Alternative, ...]:
    """The word itself; for a long Chinese word also its dictionary sub-words together."""
    alternatives: list[Alternative] = [(term,)]
    if _is_cjk(raw) and len(raw) > 2:
        subs = tuple(
            dict.fromkeys(
                t for t in (normalize_term(s) for s in rjieba.cut_for_search(raw)) if t and t != term
            )
        )
        if subs:
            alternatives.append(subs)
    return tuple(alternatives)


def _units(folded: str) -> list[_Unit]:
    """The words of a (full-width folded) query in rjieba's precise mode, stop words dropped."""
    units = []
    for word, start, _end in rjieba.tokenize(folded, mode="default"):
        for match in _ALNUM_RUN.finditer(word):
            raw = match.group()
            term = normalize_term(raw)
            if term:
                units.append(_Unit(
                    unicodedata.normalize("NFKC", raw).lower(), start + match.start(),
                    start + match.end(), _word_alternatives(raw, term),
                ))
    return units


def _conjoin(parts: list[tuple[Alternative, ...]], limit: int) -> tuple[Alternative, ...]:
    """Words in a row as alternatives of one group: (a | a') & b == (a & b) | (a' & b)."""
    combined: list[Alternative] = [()]
    for alternatives in parts:
        combined = [
            tuple(dict.fromkeys(left + right)) for left in combined for right in alternatives
        ][:limit]
    return tuple(alt for alt in dict.fromkeys(combined) if alt)


@dataclass(frozen=True)
class SynonymTable:
    """Query-time synonyms: a text (a :func:`synonym_key`) and the other texts it also matches.

    An abbreviation matches its expansions and an expansion its abbreviation (环评 finds
    环境影响评价 and 环境影响评价 finds 环评), but two expansions do not match each other.
    """

    variants: dict[str, tuple[str, ...]]
    alternatives: dict[str, tuple[Alternative, ...]]
    longest: int

    @classmethod
    def build(cls, entries) -> SynonymTable:
        """From (abbreviation, expansions) pairs; texts the analysis cannot use are skipped."""
        variants: dict[str, dict[str, None]] = {}
        for head, expansions in entries:
            head = synonym_key(head)
            for other in (synonym_key(e) for e in expansions):
                if head and other and other != head:
                    variants.setdefault(head, {})[other] = None
                    variants.setdefault(other, {})[head] = None
        alternatives = {}
        for text in variants:
            alts = _conjoin([u.alternatives for u in _units(text)], MAX_PHRASE_ALTERNATIVES)
            if alts:
                alternatives[text] = alts
        usable = {
            text: tuple(o for o in others if o in alternatives)
            for text, others in variants.items() if text in alternatives
        }
        usable = {text: others for text, others in usable.items() if others}
        return cls(usable, alternatives, max((len(t) for t in usable), default=0))

    def __bool__(self) -> bool:
        return bool(self.variants)


NO_SYNONYMS = SynonymTable({}, {}, 0)


def _longest_synonym(units: list[_Unit], i: int, synonyms: SynonymTable) -> tuple[int, str] | None:
    """The longest run of adjacent words from ``units[i]`` that is a synonym text."""
    found = None
    text = ""
    for j in range(i, len(units)):
        if j > i and units[j].start != units[j - 1].end:
            break
        text += units[j].key
        if len(text) > synonyms.longest:
            break
        if text in synonyms.variants:
            found = (j, text)
    return found


def parse_query(text: str | None, synonyms: SynonymTable | None = None) -> ParsedQuery:
    """Split the query into words (rjieba's precise mode); never raises.

    A long Chinese word also matches when only its dictionary sub-words occur (人民共和国 finds
    中华人民共和国), because the index holds those sub-words. Words (or adjacent words) that
    are in ``synonyms`` also match the texts listed for them (环评 finds 环境影响评价).
    """
    cleaned = clean_query(text)
    synonyms = synonyms or NO_SYNONYMS
    units = _units(cleaned.translate(_FULLWIDTH))
    groups: list[Group] = []
    words: list[str] = []
    others: list[tuple[str, ...]] = []
    i = 0
    while i < len(units) and len(groups) < MAX_QUERY_WORDS:
        found = _longest_synonym(units, i, synonyms) if synonyms else None
        if found is None:
            group, word, variants = units[i].alternatives, units[i].key, ()
            i += 1
        else:
            j, word = found
            variants = synonyms.variants[word]
            own = _conjoin([u.alternatives for u in units[i : j + 1]], MAX_PHRASE_ALTERNATIVES)
            group = tuple(dict.fromkeys(
                (*own, *(alt for v in variants for alt in synonyms.alternatives[v]))
            ))[:MAX_ALTERNATIVES]
            i = j + 1
        if group not in groups:
            groups.append(group)
            words.append(word)
            others.append(variants)
    synonym_part = tuple(others) if any(others) else ()
    return ParsedQuery(cleaned, tuple(groups), tuple(words), synonym_part)


@lru_cache(maxsize=4096)
def _term_spans(text: str, terms: frozenset[str]) -> tuple[tuple[int, int], ...]:
    """Spans of the index terms of ``text`` that are in ``terms``: :func:`iter_terms` with a
    shortcut for the common token, a word of CJK ideographs only, which is its own term
    (NFKC, lower-casing and stemming leave it alone), so it needs no normalising.

    Kept for recent (text, query) pairs: rjieba is most of a results page's time, and the same
    page is asked again (next page and back, refresh, the same popular query)."""
    spans = []
    for word, start, _end in rjieba.tokenize(text.translate(_FULLWIDTH), mode="search"):
        if _CJK_WORD.fullmatch(word):
            if word in terms:
                spans.append((start, start + len(word)))
            continue
        if word.isspace():
            continue
        for match in _ALNUM_RUN.finditer(word):
            if normalize_term(match.group()) in terms:
                spans.append((start + match.start(), start + match.end()))
    return tuple(spans)


def _hit_spans(text: str, query: ParsedQuery) -> list[tuple[int, int]]:
    spans = list(_term_spans(text, query.terms))
    lowered = text.lower()
    for word in (w for variants in query.word_variants for w in variants):
        if not _is_cjk(word):
            continue
        start = lowered.find(word)
        while start != -1:
            spans.append((start, start + len(word)))
            start = lowered.find(word, start + len(word))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def highlight(text: str, query: ParsedQuery, *, width: int | None = None) -> Markup:
    """``text`` HTML-escaped with query hits in ``<mark>``; cut to ``width`` chars around hits."""
    text = text or ""
    spans = _hit_spans(text, query) if query.groups else []
    start, end = 0, len(text)
    if width is not None and len(text) > width:
        if spans:
            # The window with the most hits, starting a little before its first hit.
            best, best_count = spans[0][0], 0
            for s, _e in spans:
                count = sum(1 for s2, _ in spans if s <= s2 < s + width)
                if count > best_count:
                    best, best_count = s, count
            start = max(0, min(best - width // 5, len(text) - width))
        end = start + width
    out = [Markup("…")] if start > 0 else []
    pos = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(escape(text[pos:s]))
        out.append(Markup("<mark>") + escape(text[s:e]) + Markup("</mark>"))
        pos = e
    out.append(escape(text[pos:end]))
    if end < len(text):
        out.append(Markup("…"))
    return Markup("").join(out)
