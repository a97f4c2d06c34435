"""PostgreSQL full-text back-end for several app servers: the rjieba terms of every document are
stored as a ``tsvector`` (``simple`` configuration, so PostgreSQL neither stems nor drops
anything) with a GIN index, and queries are ``tsquery`` trees built from the same terms.
"""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.search.analysis import ParsedQuery
from marketplace.search.backends.database_backend import SqlBackend, T

_SIMPLE = sa.literal_column("'simple'::regconfig")


def _lexeme(term: str) -> str:
    # Terms are letters and digits only; quote them anyway so nothing is read as an operator.
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsquery_text(query: ParsedQuery) -> str:
    """``('安全') & ('人民共和国' | ('人民' & '共和国'))`` for the query's groups."""

    def alternative(alt):
        return _lexeme(alt[0]) if len(alt) == 1 else "(" + " & ".join(_lexeme(t) for t in alt) + ")"

    return " & ".join(
        "(" + " | ".join(alternative(alt) for alt in group) + ")" for group in query.groups
    )


class PostgresBackend(SqlBackend):
    """tsvector @@ tsquery over ``search_documents`` (GIN), ranked with ts_rank."""

    name = "postgres"

    def _tsquery(self, query: ParsedQuery):
        return sa.func.to_tsquery(_SIMPLE, sa.literal(tsquery_text(query)))

    def match(self, query: ParsedQuery):
        return T.tsv.op("@@")(self._tsquery(query))

    def score(self, query: ParsedQuery):
        return sa.func.ts_rank(T.tsv, self._tsquery(query))
