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


@dataclass(frozen=True)
class ParsedQuery:
    """The user's query as data: every group must match (AND); words are for LIKE and display."""

    text: str
    groups: tuple[Group, ...]
    words: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not self.groups

    @property
    def terms(self) -> frozenset[str]:
        """Every term that counts as a hit, for highlighting."""
        return frozenset(t for group in self.groups for alt in group for t in alt)


def clean_query(text: str | None) -> str:
    """The query as the user meant it: no control characters, single spaces, at most 200 chars."""
    text = clean_text(text if isinstance(text, str) else "")
    return _SPACES.sub(" ", text[: MAX_QUERY_CHARS * 4]).strip()[:MAX_QUERY_CHARS]


def parse_query(text: str | None) -> ParsedQuery:
    """Split the query into words (rjieba's precise mode); never raises.

    A long Chinese word also matches when only its dictionary sub-words occur (人民共和国 finds
    中华人民共和国), because the index holds those sub-words.
    """
    cleaned = clean_query(text)
    groups: list[Group] = []
    words: list[str] = []
    folded = cleaned.translate(_FULLWIDTH)
    for word in rjieba.cut(folded):
        for match in _ALNUM_RUN.finditer(word):
            raw = match.group()
            term = normalize_term(raw)
            if not term:
                continue
            alternatives: list[Alternative] = [(term,)]
            if _is_cjk(raw) and len(raw) > 2:
                subs = tuple(
                    dict.fromkeys(
                        t for t in (normalize_term(s) for s in rjieba.cut_for_search(raw)) if t and t != term
                    )
                )
                if subs:
                    alternatives.append(subs)
            group = tuple(alternatives)
            if group not in groups:
                groups.append(group)
                words.append(unicodedata.normalize("NFKC", raw).lower())
            if len(groups) >= MAX_QUERY_WORDS:
                return ParsedQuery(cleaned, tuple(groups), tuple(words))
    return ParsedQuery(cleaned, tuple(groups), tuple(words))


def _hit_spans(text: str, query: ParsedQuery) -> list[tuple[int, int]]:
    terms = query.terms
    spans = [(s, e) for term, s, e in iter_terms(text) if term in terms]
    lowered = text.lower()
    for word in query.words:
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
