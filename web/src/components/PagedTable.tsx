/** The body of a paged list: its query's states (error, loading, empty), then the table of
 * the rows loaded so far and its foot ("N shown", "Load more"). The foot stays below a failure
 * while there are rows or another page, so a failed "Load more" can be tried again there. */
import type { ReactNode } from "react";

import { QueryStates, type QueryState } from "./QueryStates";
import { TableFoot, type PagedQuery } from "./TableFoot";

export function PagedTable({
  query,
  count,
  label,
  className,
  head,
  empty,
  noun,
  minHeight = 200,
  children,
}: {
  /** The list's infinite query. */
  query: QueryState & PagedQuery;
  /** How many rows are loaded (none: `empty` stands in for the table). */
  count: number;
  /** The table's accessible name. */
  label: string;
  /** Classes besides `table`. */
  className?: string;
  /** The header cells. */
  head: ReactNode;
  /** Stands in for the table while no row is loaded; without it the table (its head) shows
   * even then, also below a failure (a list that is never empty, such as the users). */
  empty?: ReactNode;
  /** [singular, plural]: the foot counts the rows; without it the foot shows only "Load more". */
  noun?: readonly [string, string];
  minHeight?: number;
  /** The rows. */
  children: ReactNode;
}): ReactNode {
  const table = count > 0 || empty === undefined;
  return (
    <>
      <QueryStates query={query} isEmpty={!table} minHeight={minHeight} empty={empty}>
        <div className="table-wrap">
          <table className={className ? `table ${className}` : "table"} aria-label={label}>
            <thead>
              <tr>{head}</tr>
            </thead>
            <tbody>{children}</tbody>
          </table>
        </div>
      </QueryStates>
      {!query.isPending && (table || query.hasNextPage) ? (
        <TableFoot query={query} count={noun ? count : undefined} noun={noun} />
      ) : null}
    </>
  );
}
