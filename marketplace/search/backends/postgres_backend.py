"""PostgreSQL full-text back-end for several app servers: the rjieba terms of every document are
stored as a ``tsvector`` (``simple`` configuration, so PostgreSQL neither stems nor drops
anything) with a GIN index, and queries are ``tsquery`` trees built from the same terms.
"""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.search.analysis import ParsedQuery
from marketplace.search.backends.database_backend import FACET_COLUMNS, SqlBackend, T, expand_quals

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
    """tsvector @@ tsquery over ``search_documents``, ranked with ts_rank."""

    name = "postgres"

    def _tsquery(self, query: ParsedQuery):
        return sa.func.to_tsquery(_SIMPLE, sa.literal(tsquery_text(query)))

    def match(self, query: ParsedQuery):
        return T.tsv.op("@@")(self._tsquery(query))

    def score(self, query: ParsedQuery):
        return sa.func.ts_rank(T.tsv, self._tsquery(query))

    def facet_counts(self, conds: list) -> dict[str, dict[str, int]]:
        """All facets in one scan with GROUPING SETS."""
        columns = [*FACET_COLUMNS.values(), T.qualification_types]
        names = [*FACET_COLUMNS, "qualification"]
        rows = db.session.execute(
            sa.select(*columns, *(sa.func.grouping(c) for c in columns), sa.func.count())
            .where(*conds)
            .group_by(sa.func.grouping_sets(*(sa.tuple_(c) for c in columns)))
        ).all()
        result: dict[str, dict[str, int]] = {name: {} for name in names}
        quals = []
        n = len(columns)
        for row in rows:
            for i, name in enumerate(names):
                if row[n + i] == 0:  # grouped by this column in this row
                    value, count = row[i], row[-1]
                    if name == "qualification":
                        quals.append((value, count))
                    elif value is not None:
                        result[name][value] = count
                    break
        result["qualification"] = expand_quals(quals)
        return result
