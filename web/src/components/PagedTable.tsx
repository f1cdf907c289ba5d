/** The body of a paged list: its query's states (error, loading, empty), then the table of
 * the rows loaded so far and its foot ("N shown", "Load more"). */
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
  empty: ReactNode;
  /** [singular, plural]: the foot counts the rows; without it the foot shows only "Load more". */
  noun?: readonly [string, string];
  minHeight?: number;
  /** The rows. */
  children: ReactNode;
}): ReactNode {
  return (
    <QueryStates query={query} isEmpty={count === 0} minHeight={minHeight} empty={empty}>
      <div className="table-wrap">
        <table className={className ? `table ${className}` : "table"} aria-label={label}>
          <thead>
            <tr>{head}</tr>
          </thead>
          <tbody>{children}</tbody>
        </table>
      </div>
      <TableFoot query={query} count={noun ? count : undefined} noun={noun} />
    </QueryStates>
  );
}
