"""``flask search ...``: reindex, process the queue, repair the index, inspect."""

from __future__ import annotations

import click
from flask.cli import AppGroup

search_cli = AppGroup("search", help="Full-text search: index and queue.")


@search_cli.command("reindex")
@click.option("--type", "doc_types", multiple=True, help="Only this document type (repeatable).")
def reindex(doc_types: tuple[str, ...]) -> None:
    """Rebuild everything from the registered providers."""
    from marketplace.search.documents import providers
    from marketplace.search.indexing import reindex_all

    if not providers():
        click.echo("no search providers are registered: only the index is rebuilt from the store")
    counts = reindex_all(list(doc_types) or None)
    for doc_type, n in counts.items():
        click.echo(f"{doc_type}: {n} documents")


@search_cli.command("process-queue")
@click.option("--limit", default=500, show_default=True, help="Entries per batch.")
def process(limit: int) -> None:
    """Index the changes still waiting in the queue."""
    from marketplace.search.indexing import process_queue

    r = process_queue(limit=limit)
    click.echo(
        f"indexed {r.indexed}, removed {r.removed}, failed {r.failed}, "
        f"deferred {r.deferred}, no provider {r.skipped}"
    )


@search_cli.command("rebuild-index")
def rebuild() -> None:
    """Rebuild the Whoosh index from the document store (no providers needed)."""
    from marketplace.search.indexing import rebuild_index

    click.echo(f"{rebuild_index()} documents indexed")


@search_cli.command("status")
def status() -> None:
    """Back-end, stored documents, queue length and index health."""
    from marketplace.search import store
    from marketplace.search.backends import get_backend
    from marketplace.search.indexing import check_index, queue_length

    backend = get_backend()
    click.echo(f"backend: {backend.name}")
    click.echo(f"stored documents: {store.count_documents()}")
    click.echo(f"queued changes: {queue_length()}")
    if backend.keeps_own_index:
        healthy = check_index()
        click.echo(f"index: {backend.index_dir} ({'ok' if healthy else 'needs rebuild'})")
        if healthy:
            click.echo(f"indexed documents: {backend.doc_count()}")


@search_cli.command("query")
@click.argument("text")
@click.option("--type", "doc_type", default=None)
def query(text: str, doc_type: str | None) -> None:
    """Print the first hits for TEXT."""
    from marketplace.search.backends import SearchFilters
    from marketplace.search.services import search

    outcome = search(text, SearchFilters(doc_type=doc_type), per_page=20)
    click.echo(f"{outcome.total} hits ({outcome.backend}{', degraded' if outcome.degraded else ''})")
    for hit in outcome.hits:
        click.echo(f"{hit.score:8.3f}  {hit.doc_type}:{hit.doc_id}  {hit.title}")


@search_cli.command("install-synonyms")
def install_synonyms() -> None:
    """Add the default trade abbreviations (环评, 水保 …) that have no entry yet."""
    from marketplace.extensions import db
    from marketplace.search.synonyms import install_default_synonyms

    added = install_default_synonyms(actor="cli")
    db.session.commit()
    click.echo(f"{added} synonyms added")
