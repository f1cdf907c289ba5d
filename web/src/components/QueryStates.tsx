/** The states of a list's query: an error (with Retry), loading, empty, or the list itself. */
import type { ReactNode } from "react";

import { ErrorBanner, Spinner } from "./ui";

/** What QueryStates reads of a TanStack query (plain or infinite). */
export interface QueryState {
  isPending: boolean;
  isError: boolean;
  error: unknown;
  refetch: () => unknown;
}

/**
 * An error shows a banner with a Retry button (above the rows still shown, if any); while
 * the first page loads a spinner takes `minHeight`; with no rows `empty` stands in for the
 * children (unless the query failed: the banner says why there is nothing).
 */
export function QueryStates({
  query,
  isEmpty,
  empty,
  minHeight,
  children,
}: {
  query: QueryState;
  isEmpty: boolean;
  empty?: ReactNode;
  minHeight?: number;
  children: ReactNode;
}): ReactNode {
  return (
    <>
      {query.isError ? (
        <div className="card-body">
          <ErrorBanner error={query.error} onRetry={() => void query.refetch()} />
        </div>
      ) : null}
      {query.isPending ? (
        <div className="center-fill" style={minHeight === undefined ? undefined : { minHeight }}>
          <Spinner />
        </div>
      ) : isEmpty ? (
        query.isError ? null : empty
      ) : (
        children
      )}
    </>
  );
}
