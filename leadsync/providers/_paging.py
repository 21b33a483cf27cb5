"""Cursor-paginated listings read to their end, and only to their end: a vendor that pages without end (a loop,
pages that grow, pages past what the read can need) is stopped with a clear error (docs/apply.md, "When the
vendor misbehaves")."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from leadsync.errors import PageBudgetSpent, PagingRunaway
from leadsync.progress import Progress

#: the most pages one listing may take (2,000,000 records at 100 a page): a vendor paging forever is stopped
MAX_PAGES = 20_000
#: the most pages one read of a workspace may take, all its listings together (1,200,000 records, about 1 GB
#: held): listings run eight at a time, so a vendor sending fresh pages to each is stopped by this one
MAX_READ_PAGES = 12_000
#: pages in a row that bring nothing new before a listing is taken for a loop (old leads may repeat singly)
STALE_PAGES = 3


#: told the size of each page a listing reads
OnPage = Callable[[int], None]


def page_counter(progress: Progress, part: str | None = None) -> OnPage:
    """An `on_page` counting a managed destination's pages and leads for `progress` (`leadsync.progress`);
    `part`: the destination, by its spec names."""

    def page(size: int) -> None:
        progress.advanced("pages", part=part)
        progress.advanced("leads", size, part=part)

    return page


class PageBudget:
    """Pages shared by every listing of one read, on any thread."""

    def __init__(self, pages: int | None = None) -> None:
        self.pages, self.taken = MAX_READ_PAGES if pages is None else pages, 0
        self._lock = threading.Lock()

    def take(self, endpoint: str) -> None:
        with self._lock:
            if self.taken >= self.pages:
                raise PagingRunaway(f"{endpoint}: the read has taken {self.taken:,} pages, the most leadsync reads of "
                                    f"a workspace at once (about {self.pages * 100:,} records)")  # fmt: skip
            self.taken += 1


def paginate_items(
    fetch: Callable[[str | None], Mapping[str, Any]],
    *,
    cursor_field: str,
    max_pages: int | None = None,
    limit: int | None = None,
    endpoint: str = "a listing",
    most_pages: int = MAX_PAGES,
    bound: str = "",
    budget: PageBudget | None = None,
    on_page: OnPage | None = None,
) -> list[dict[str, Any]]:
    """Every item of a cursor-paginated listing: stops on an empty page (the last page may still carry a
    cursor) or `hasMore: false`, and keeps the first of any repeated id. With `max_pages`, raises
    `PageBudgetSpent` (carrying what was read) instead of fetching page `max_pages + 1`.

    A vendor that pages without end is stopped with `PagingRunaway`: a cursor it gave before (a loop), pages
    that bring only items already read, a page larger than the `limit` asked for (pages that grow), or more
    than `most_pages` pages in all (`bound`: why no more can be needed, for the message), or past the read's
    shared `budget`. `on_page` is told the size of each page read (for progress)."""
    items: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    seen: set[str] = set()
    pages = stale = 0
    while True:
        if max_pages is not None and pages >= max_pages:
            raise PageBudgetSpent(list(items.values()))
        if pages >= most_pages:
            why = bound or f"leadsync reads at most {most_pages:,} pages a listing"
            raise PagingRunaway(f"{endpoint}: still more pages after {pages:,} ({len(items):,} items); {why}")
        if budget is not None:
            budget.take(endpoint)
        page = fetch(cursor)
        pages += 1
        batch = page.get("items") or []
        if limit is not None and len(batch) > limit:
            raise PagingRunaway(f"{endpoint}: page {pages} holds {len(batch)} items for a limit of {limit}")
        if on_page is not None:
            on_page(len(batch))
        before = len(items)
        for item in batch:
            items.setdefault(str(item.get("id")), item)
        stale = stale + 1 if batch and len(items) == before else 0
        cursor = page.get(cursor_field)
        if not batch or not cursor or page.get("hasMore") is False:
            return list(items.values())
        if cursor in seen:
            raise PagingRunaway(f"{endpoint}: page {pages} gives a cursor it gave before: the paging loops")
        if stale >= STALE_PAGES:
            raise PagingRunaway(f"{endpoint}: {stale} pages in a row hold only items already read: the paging "
                                "loops")  # fmt: skip
        seen.add(cursor)
