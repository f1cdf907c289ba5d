/** Cursor paging shared by the list queries: the page size and the infinite-query options
 * that follow `next_cursor` from one page to the next. */

export const PAGE_SIZE = 50;

/** Spread into `infiniteQueryOptions`: start without a cursor, stop when a page has none. */
export const cursorPaging = {
  initialPageParam: null as string | null,
  getNextPageParam: (page: { next_cursor?: string | null }): string | null => page.next_cursor ?? null,
};
