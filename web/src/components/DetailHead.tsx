/** The head of a detail page (an agent, a deployment, a template, an alert): crumbs back to
 * its list, the title with its badges; the page that stands in when the item cannot be
 * loaded; and the `dl` of its fields. */
import { Fragment, type ReactNode } from "react";
import { Link } from "react-router";

import { ApiError } from "../api/problem";
import type { IconName } from "./Icon";
import { EmptyState, ErrorBanner, LinkButton, PageHead } from "./ui";

/** The list a detail page belongs to: its path and its name ("Agents"). */
export interface ListLink {
  to: string;
  label: string;
}

export function DetailHead({
  list,
  crumb,
  title,
  badges,
  gap = 12,
  docTitle,
  subtitle,
  actions,
}: {
  list: ListLink;
  /** After the list's link in the crumbs ("Agents / billing-bot"). */
  crumb?: ReactNode;
  title: ReactNode;
  /** Beside the title, in its row. */
  badges?: ReactNode;
  gap?: number;
  docTitle?: string;
  subtitle?: ReactNode;
  actions?: ReactNode;
}): ReactNode {
  return (
    <PageHead
      crumbs={
        <>
          <Link to={list.to}>{list.label}</Link>
          {crumb === undefined ? null : <> / {crumb}</>}
        </>
      }
      title={
        badges === undefined ? (
          title
        ) : (
          <span className="row" style={{ gap }}>
            {title} {badges}
          </span>
        )
      }
      docTitle={docTitle}
      subtitle={subtitle}
      actions={actions}
    />
  );
}

/** The page of an item that could not be loaded: "This agent does not exist" with a way back
 * to the list when it is missing (a 404, or `missing`), else the error with Retry. */
export function DetailFailure({
  what,
  list,
  icon,
  error,
  missing = false,
  onRetry,
  children,
}: {
  /** The kind of item, as the page's title ("Agent"). */
  what: string;
  list: ListLink;
  icon: IconName;
  error: unknown;
  missing?: boolean;
  onRetry?: () => void;
  /** Why it may be missing. */
  children: ReactNode;
}): ReactNode {
  const gone = missing || (error instanceof ApiError && error.status === 404);
  return (
    <>
      <PageHead title={what} crumbs={<Link to={list.to}>{list.label}</Link>} />
      {gone ? (
        <div className="card">
          <EmptyState
            icon={icon}
            title={`This ${what.toLowerCase()} does not exist`}
            action={<LinkButton to={list.to}>Back to {list.label.toLowerCase()}</LinkButton>}
          >
            {children}
          </EmptyState>
        </div>
      ) : (
        <ErrorBanner error={error} onRetry={onRetry} />
      )}
    </>
  );
}

/** One field of a `PropList`: its term, its value, the value's classes and hover title;
 * `false` or `null` leaves it out. */
export type Prop = readonly [term: string, value: ReactNode, className?: string, title?: string] | false | null;

/** A detail page's fields as a `dl.props`, one term and value a field. */
export function PropList({ label, items }: { label?: string; items: readonly Prop[] }): ReactNode {
  return (
    <dl className="props" aria-label={label}>
      {items.map((item) =>
        item ? (
          <Fragment key={item[0]}>
            <dt>{item[0]}</dt>
            <dd className={item[2]} title={item[3]}>
              {item[1]}
            </dd>
          </Fragment>
        ) : null,
      )}
    </dl>
  );
}
