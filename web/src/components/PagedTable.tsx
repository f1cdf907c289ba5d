/** The body of a list: its query's states (error, loading, empty), then the table of the rows
 * loaded so far; for a paged list, its foot ("N shown", "Load more"). The foot stays below a
 * failure while there are rows or another page, so a failed "Load more" can be tried again
 * there. */
import type { ReactNode } from "react";

import { QueryStates, type QueryState } from "./QueryStates";
import { TableFoot, type PagedQuery } from "./TableFoot";

interface TableProps {
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
  /** The children are the table's own `<tbody>`s (rows in groups), not rows of one body. */
  grouped?: boolean;
  /** The rows (or, `grouped`, the bodies). */
  children: ReactNode;
}

/** Whether the table shows (rows, or no empty state to stand in for it). */
function shown({ count, empty }: Pick<TableProps, "count" | "empty">): boolean {
  return count > 0 || empty === undefined;
}

/** A list of one plain (or infinite, first page only) query: its states, then the table. */
export function QueryTable({
  query,
  count,
  label,
  className,
  head,
  empty,
  grouped = false,
  minHeight,
  children,
}: TableProps & {
  query: QueryState;
  /** The height the spinner takes while the first page loads. */
  minHeight?: number;
}): ReactNode {
  return (
    <QueryStates query={query} isEmpty={!shown({ count, empty })} minHeight={minHeight} empty={empty}>
      <div className="table-wrap">
        <table className={className ? `table ${className}` : "table"} aria-label={label}>
          <thead>
            <tr>{head}</tr>
          </thead>
          {grouped ? children : <tbody>{children}</tbody>}
        </table>
      </div>
    </QueryStates>
  );
}

/** A paged list: `QueryTable`, then the foot of its infinite query. */
export function PagedTable({
  query,
  noun,
  minHeight = 200,
  ...table
}: TableProps & {
  /** The list's infinite query. */
  query: QueryState & PagedQuery;
  /** [singular, plural]: the foot counts the rows; without it the foot shows only "Load more". */
  noun?: readonly [string, string];
  minHeight?: number;
}): ReactNode {
  return (
    <>
      <QueryTable query={query} minHeight={minHeight} {...table} />
      {!query.isPending && (shown(table) || query.hasNextPage) ? (
        <TableFoot query={query} count={noun ? table.count : undefined} noun={noun} />
      ) : null}
    </>
  );
}
