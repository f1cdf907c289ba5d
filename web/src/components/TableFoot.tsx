/** The footer of a paged table: how many rows are shown and a "Load more" button for the next
 * page of an infinite query. */
import type { ReactNode } from "react";

import { Spinner } from "./ui";

export interface PagedQuery {
  hasNextPage: boolean;
  isFetching: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
}

/** `count` with `noun` ([singular, plural]) says how many rows are shown; without them the foot
 * appears only while there is another page. */
export function TableFoot({
  query,
  count,
  noun,
}: {
  query: PagedQuery;
  count?: number;
  noun?: readonly [string, string];
}): ReactNode {
  const counted = count !== undefined && noun !== undefined;
  if (!counted && !query.hasNextPage) return null;
  return (
    <div className="table-foot">
      {counted ? (
        <span>
          {count} {count === 1 ? noun[0] : noun[1]}
          {query.hasNextPage ? " shown" : ""}
        </span>
      ) : null}
      <span className="spacer" />
      {query.isFetching && !query.isFetchingNextPage ? <Spinner label="Refreshing" /> : null}
      {query.hasNextPage ? (
        <button
          type="button"
          className="btn btn-sm"
          onClick={() => void query.fetchNextPage()}
          disabled={query.isFetchingNextPage}
        >
          {query.isFetchingNextPage ? "Loading…" : "Load more"}
        </button>
      ) : null}
    </div>
  );
}
