"""Name search that tolerates typos and partial names.

SQLite: an FTS5 table with the trigram tokenizer (persons_fts, kept in step by triggers).
PostgreSQL: pg_trgm GIN index on persons.search_text. Both give candidates that share trigrams
with the query; rapidfuzz then ranks them by how close the whole name is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import text
from sqlalchemy.orm import Session

CANDIDATES = 200
MIN_SCORE = 60.0

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalize_name(value: str) -> str:
    """Lowercase, strip accents and punctuation, single spaces: 'José  O'Neil' → 'jose o neil'."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", plain.casefold()).split())


def search_text_for(given_name: str, family_name: str, aliases: list[str]) -> str:
    """What the trigram index holds for a person: the name, then each alias."""
    names = [f"{given_name} {family_name}", *aliases]
    return " | ".join(normalize_name(name) for name in names if normalize_name(name))


def _trigrams(token: str) -> set[str]:
    return {token[i : i + 3] for i in range(len(token) - 2)}


def _variants(token: str) -> set[str]:
    """The token and its one-transposition variants ('jhon' → 'john'), for trigram recall."""
    variants = {token}
    for i in range(len(token) - 1):
        variants.add(token[:i] + token[i + 1] + token[i] + token[i + 2 :])
    return variants


def fts_query(normalized: str) -> str | None:
    """An FTS5 MATCH expression: any trigram of any token (or its transpositions)."""
    grams: set[str] = set()
    for token in normalized.split():
        for variant in _variants(token):
            grams |= _trigrams(variant)
    if not grams:
        return None
    return " OR ".join('"' + gram.replace('"', '""') + '"' for gram in sorted(grams))


@dataclass(frozen=True)
class NameMatch:
    person_id: str
    score: float


def score(query: str, search_text: str) -> float:
    """0..100: the best match of the query against the name or any alias."""
    query_tokens = query.split()
    best = 0.0
    for name in search_text.split(" | "):
        best = max(best, fuzz.token_sort_ratio(query, name))
        name_tokens = name.split()
        if name_tokens and len(query_tokens) < len(name_tokens):
            # A partial name ("okonkow"): each query token against its closest name token,
            # a little below a full-name match of the same quality.
            partial = sum(
                max(fuzz.ratio(token, candidate) for candidate in name_tokens)
                for token in query_tokens
            ) / len(query_tokens)
            best = max(best, partial * 0.95)
    return best


def candidate_rows(session: Session, normalized: str) -> list[tuple[str, str]]:
    """(person_id, search_text) of live persons sharing trigrams with the query."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT set_config('pg_trgm.similarity_threshold', '0.2', true)"))
        session.execute(
            text("SELECT set_config('pg_trgm.word_similarity_threshold', '0.45', true)")
        )
        rows = session.execute(
            text(
                "SELECT id, search_text FROM persons "
                "WHERE (search_text % :q OR :q <% search_text) AND deleted_at IS NULL "
                "ORDER BY greatest(similarity(search_text, :q), word_similarity(:q, search_text))"
                " DESC LIMIT :n"
            ),
            {"q": normalized, "n": CANDIDATES},
        ).all()
        return [(row[0], row[1]) for row in rows]
    rows = []
    exact = " AND ".join(
        '"' + token.replace('"', '""') + '"' for token in normalized.split() if len(token) >= 3
    )
    if exact:
        # Substring hits first: cheap and precise for correctly spelt (partial) names.
        rows = session.execute(
            text(
                "SELECT p.id, p.search_text FROM persons_fts f"
                " JOIN persons p ON p.search_key = f.rowid"
                " WHERE persons_fts MATCH :q AND p.deleted_at IS NULL LIMIT :n"
            ),
            {"q": exact, "n": CANDIDATES},
        ).all()
    if len(rows) < 10:
        fuzzy = fts_query(normalized)
        if fuzzy is not None:
            rows += session.execute(
                text(
                    "SELECT p.id, p.search_text FROM ("
                    " SELECT rowid AS search_key FROM persons_fts WHERE persons_fts MATCH :q"
                    " ORDER BY rank LIMIT :n) f JOIN persons p ON p.search_key = f.search_key"
                    " WHERE p.deleted_at IS NULL"
                ),
                {"q": fuzzy, "n": CANDIDATES},
            ).all()
    return [(row[0], row[1]) for row in rows]


def search_names(session: Session, *, query: str, limit: int) -> list[NameMatch]:
    """Best matching persons for a (possibly misspelt or partial) name, best first."""
    normalized = normalize_name(query)
    if len(normalized.replace(" ", "")) < 2:
        return []
    seen: dict[str, float] = {}
    for person_id, search_text in candidate_rows(session, normalized):
        if person_id in seen:
            continue
        seen[person_id] = score(normalized, search_text)
    ranked = sorted(
        (NameMatch(pid, s) for pid, s in seen.items() if s >= MIN_SCORE),
        key=lambda match: (-match.score, match.person_id),
    )
    return ranked[:limit]
