"""Name search that tolerates typos and partial names.

Every word of a person's names and aliases is kept once in a vocabulary (person_name_terms)
with a trigram index: SQLite FTS5 with the trigram tokenizer, PostgreSQL pg_trgm. A query word
is expanded to the vocabulary words close to it (rapidfuzz decides how close), the persons who
carry those words come from person_terms, and the best of them are ranked on the whole name.
The vocabulary is small (tens of thousands of words for millions of persons), so the fuzzy part
never scans the persons table.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import cast

from rapidfuzz import fuzz, process
from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from records_service.persons.models import Person, PersonNameTerm, PersonTerm

CANDIDATES = 200
MIN_SCORE = 60.0
MIN_TERM_SIMILARITY = 70.0
TERMS_PER_WORD = 12
# Besides the most selective word, words carried by at most this many persons add candidates;
# broader ones (common first names) only score the candidates found.
SEED_WORD = 300
LENGTH_SLACK = 3
COUNT_CAP = 1000
NARROW_FROM_LENGTH = 8
CONFIDENT_SIMILARITY = 80.0
MAX_WORDS = 6

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalize_name(value: str) -> str:
    """Lowercase, strip accents and punctuation, single spaces: 'José  O'Neil' → 'jose o neil'."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", plain.casefold()).split())


def search_text_for(given_name: str, family_name: str, aliases: list[str]) -> str:
    """The person's normalised name, then each alias, separated by ' | '."""
    names = [f"{given_name} {family_name}", *aliases]
    return " | ".join(normalize_name(name) for name in names if normalize_name(name))


def terms_of(search_text: str) -> set[str]:
    """The distinct name words of a search_text."""
    return {word[:100] for word in search_text.replace("|", " ").split()}


def index_person_terms(session: Session, *, person_id: str, search_text: str) -> None:
    """Make person_terms hold exactly the words of this person's names and aliases."""
    words = sorted(terms_of(search_text))
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    with session.no_autoflush:
        session.execute(delete(PersonTerm).where(PersonTerm.person_id == person_id))
        if not words:
            return
        session.execute(
            insert(PersonNameTerm).on_conflict_do_nothing(index_elements=["term"]),
            [{"term": word} for word in words],
        )
        term_ids = session.execute(
            select(PersonNameTerm.id).where(PersonNameTerm.term.in_(words))
        ).scalars()
        session.execute(
            PersonTerm.__table__.insert(),
            [{"term_id": term_id, "person_id": person_id} for term_id in term_ids],
        )


def _trigrams(word: str) -> set[str]:
    return {word[i : i + 3] for i in range(len(word) - 2)}


def _variants(word: str) -> set[str]:
    """The word and its one-transposition variants ('jhon' → 'john'), for trigram recall."""
    variants = {word}
    for i in range(len(word) - 1):
        variants.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    return variants


def _quote(gram: str) -> str:
    return '"' + gram.replace('"', '""') + '"'


def _broad_fts_query(word: str) -> str:
    """Any trigram of the word or of its transpositions: finds every one-edit neighbour."""
    grams: set[str] = set()
    for variant in _variants(word):
        grams |= _trigrams(variant)
    return " OR ".join(_quote(gram) for gram in sorted(grams))


def _narrow_fts_query(word: str) -> str | None:
    """At least two of the word's trigrams in common (every pair, OR-ed).

    One edit spoils at most four consecutive trigrams, so a word of eight letters or more keeps
    two: its one-edit neighbours still match, and far fewer unrelated words do.
    """
    grams = sorted(_trigrams(word))
    if len(word) < NARROW_FROM_LENGTH or len(grams) < 2:
        return None
    pairs = [f"({_quote(a)} AND {_quote(b)})" for i, a in enumerate(grams) for b in grams[i + 1 :]]
    return " OR ".join(pairs)


def _sqlite_terms(session: Session, fts_query: str, word: str) -> list[tuple[int, str]]:
    # The driver's cursor directly: thousands of short rows, no ORM row objects needed.
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(
            "SELECT t.id, t.term FROM person_name_terms_fts f"
            " JOIN person_name_terms t ON t.id = f.rowid"
            " WHERE person_name_terms_fts MATCH ? AND length(t.term) BETWEEN ? AND ?",
            (fts_query, len(word) - LENGTH_SLACK, len(word) + LENGTH_SLACK),
        )
        # sqlite3 returns a list of plain tuples, here (integer id, text term).
        return cast("list[tuple[int, str]]", cursor.fetchall())
    finally:
        cursor.close()


def _best(word: str, rows: list[tuple[int, str]]) -> list[tuple[int, str, float]]:
    matches = process.extract(
        word,
        {term_id: term for term_id, term in rows},
        scorer=fuzz.ratio,
        limit=TERMS_PER_WORD,
        score_cutoff=MIN_TERM_SIMILARITY,
    )
    return [(term_id, term, similarity) for term, similarity, term_id in matches]


def similar_terms(session: Session, word: str) -> list[tuple[int, str, float]]:
    """(term id, term, similarity 0..100) of vocabulary words close to `word`, best first."""
    dialect = session.get_bind().dialect.name
    if len(word) < 3:
        rows = session.execute(
            select(PersonNameTerm.id, PersonNameTerm.term).where(PersonNameTerm.term == word)
        ).all()
        return [(row[0], row[1], 100.0) for row in rows]
    if dialect == "postgresql":
        session.execute(text("SELECT set_config('pg_trgm.similarity_threshold', '0.2', true)"))
        found = session.execute(
            text(
                "SELECT id, term FROM person_name_terms WHERE term % :w"
                " ORDER BY similarity(term, :w) DESC LIMIT 300"
            ),
            {"w": word},
        ).all()
        return _best(word, [(row[0], row[1]) for row in found])
    narrow = _narrow_fts_query(word)
    if narrow is not None:
        best = _best(word, _sqlite_terms(session, narrow, word))
        if best and best[0][2] >= CONFIDENT_SIMILARITY:
            return best
    # Short words, or nothing close enough: every word sharing a trigram, ranked by rapidfuzz.
    return _best(word, _sqlite_terms(session, _broad_fts_query(word), word))


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


def _postings(
    session: Session, term_ids: list[int], within: set[str] | None
) -> list[tuple[str, int]]:
    statement = select(PersonTerm.person_id, PersonTerm.term_id).where(
        PersonTerm.term_id.in_(term_ids)
    )
    if within is not None:
        statement = statement.where(PersonTerm.person_id.in_(bindparam("within", expanding=True)))
        return [(r[0], r[1]) for r in session.execute(statement, {"within": sorted(within)})]
    return [(r[0], r[1]) for r in session.execute(statement)]


def _posting_counts(session: Session, term_ids: list[int]) -> int:
    """How many persons carry these words, counted up to COUNT_CAP (enough to order words)."""
    return int(
        session.execute(
            text(
                "SELECT count(*) FROM (SELECT 1 FROM person_terms WHERE term_id IN :ids"
                " LIMIT :cap) AS capped"
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": term_ids, "cap": COUNT_CAP},
        ).scalar_one()
    )


def search_names(session: Session, *, query: str, limit: int) -> list[NameMatch]:
    """Best matching live persons for a (possibly misspelt or partial) name, best first."""
    normalized = normalize_name(query)
    words = list(dict.fromkeys(normalized.split()))[:MAX_WORDS]
    if not words or len(normalized.replace(" ", "")) < 2:
        return []
    expansions: dict[str, dict[int, float]] = {}
    sizes: dict[str, int] = {}
    for word in words:
        terms = similar_terms(session, word)
        if terms:
            expansions[word] = {term_id: similarity for term_id, _, similarity in terms}
            sizes[word] = _posting_counts(session, list(expansions[word]))
    if not expansions:
        return []
    ordered = sorted(expansions, key=lambda w: sizes[w])
    # Candidates come from the selective words; broad words (common first names) only score.
    seeds = ordered[:1] + [w for w in ordered[1:] if sizes[w] <= SEED_WORD]
    word_scores: dict[str, dict[str, float]] = defaultdict(dict)
    candidates: set[str] = set()
    for word in seeds:
        for person_id, term_id in _postings(session, list(expansions[word]), None):
            previous = word_scores[person_id].get(word, 0.0)
            word_scores[person_id][word] = max(previous, expansions[word][term_id])
            candidates.add(person_id)
    for word in ordered:
        if word in seeds or not candidates:
            continue
        for person_id, term_id in _postings(session, list(expansions[word]), candidates):
            previous = word_scores[person_id].get(word, 0.0)
            word_scores[person_id][word] = max(previous, expansions[word][term_id])
    shortlist = sorted(candidates, key=lambda pid: (-sum(word_scores[pid].values()), pid))[
        : CANDIDATES + 100
    ]
    if not shortlist:
        return []
    rows = session.execute(
        select(Person.id, Person.search_text).where(
            Person.id.in_(bindparam("ids", expanding=True)), Person.deleted_at.is_(None)
        ),
        {"ids": shortlist},
    ).all()
    ranked = sorted(
        (NameMatch(row[0], score(normalized, row[1])) for row in rows),
        key=lambda match: (-match.score, match.person_id),
    )
    return [match for match in ranked if match.score >= MIN_SCORE][:limit]
