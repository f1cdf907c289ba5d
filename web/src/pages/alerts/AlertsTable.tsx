/** The alerts table: one row per alert, optionally in groups (a body per label value, headed
 * by a row with its count and severities), with selection and the per-row actions; below it
 * the list's foot. */
import type { ReactNode } from "react";
import { Link } from "react-router";
import { suppressionOf, type AlertPublic } from "../../api/alerts";
import { PagedTable } from "../../components/PagedTable";
import type { QueryState } from "../../components/QueryStates";
import type { PagedQuery } from "../../components/TableFoot";
import { Labels, Time } from "../../components/ui";
import { formatValue } from "../../lib/chartData";
import type { NoteAction } from "./AlertActions";
import { AlertStateBadge, SeverityBadge } from "./AlertBadges";
import { groupAlerts, type AlertGroup } from "./grouping";

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}

export function AlertsTable({
  query,
  empty,
  alerts,
  groupBy,
  canAct,
  selected,
  onToggle,
  onToggleMany,
  onAction,
}: {
  /** The list's infinite query. */
  query: QueryState & PagedQuery;
  /** Stands in for the table while no alert is loaded. */
  empty: ReactNode;
  alerts: AlertPublic[];
  groupBy: string;
  canAct: boolean;
  selected: ReadonlySet<string>;
  onToggle: (id: string) => void;
  onToggleMany: (ids: string[], on: boolean) => void;
  onAction: (action: NoteAction, ids: string[]) => void;
}): ReactNode {
  const open = alerts.filter((a) => a.is_active);
  const allChecked = open.length > 0 && open.every((a) => selected.has(a.id));
  const groups: AlertGroup[] = groupBy ? groupAlerts(alerts, groupBy) : [{ key: "", alerts, severities: {} }];
  const columns = canAct ? 9 : 7;

  const row = (alert: AlertPublic): ReactNode => (
    <tr key={alert.id} data-alert={alert.rule_name} data-status={alert.status} data-silenced={alert.silenced || undefined} data-suppressed={suppressionOf(alert) ?? undefined}>
      {canAct ? (
        <td>
          <input
            type="checkbox"
            className="checkbox"
            aria-label={`Select ${alert.rule_name}`}
            checked={selected.has(alert.id)}
            disabled={!alert.is_active}
            onChange={() => onToggle(alert.id)}
          />
        </td>
      ) : null}
      <td>
        <Link className="primary-link" to={`/alerts/${alert.id}`}>
          {alert.rule_name}
        </Link>
        {alert.annotations.summary ? (
          <div className="small muted" style={{ maxWidth: 360 }}>
            {alert.annotations.summary}
          </div>
        ) : null}
        {alert.reason !== "firing" ? <span className="badge badge-muted">{alert.reason}</span> : null}
      </td>
      <td>
        <SeverityBadge severity={alert.severity} />
      </td>
      <td>
        <AlertStateBadge alert={alert} />
      </td>
      <td className="mono">{formatValue(alert.value)}</td>
      <td className="labels-cell">
        <Labels labels={alert.labels} />
      </td>
      <td>
        <Time value={alert.starts_at} />
      </td>
      <td className="nowrap">{duration(alert.duration_seconds)}</td>
      {canAct ? (
        <td className="nowrap">
          {alert.status === "active" ? (
            <button type="button" className="btn btn-sm" onClick={() => onAction("acknowledge", [alert.id])}>
              Ack
            </button>
          ) : null}
          {alert.is_active ? (
            <button type="button" className="btn btn-sm btn-ghost" onClick={() => onAction("resolve", [alert.id])}>
              Resolve
            </button>
          ) : null}
        </td>
      ) : null}
    </tr>
  );

  return (
    <PagedTable
      query={query}
      count={alerts.length}
      label="Alerts"
      noun={["alert", "alerts"]}
      empty={empty}
      grouped
      head={
        <>
          {canAct ? (
            <th style={{ width: 32 }}>
              <input
                type="checkbox"
                className="checkbox"
                aria-label="Select all open alerts"
                checked={allChecked}
                onChange={() => onToggleMany(open.map((a) => a.id), !allChecked)}
              />
            </th>
          ) : null}
          <th>Alert</th>
          <th>Severity</th>
          <th>Status</th>
          <th>Value</th>
          <th>Labels</th>
          <th>Started</th>
          <th>Duration</th>
          {canAct ? <th aria-label="Actions" /> : null}
        </>
      }
    >
      {groups.map((group) => (
        <tbody key={group.key} aria-label={groupBy ? `${groupBy}=${group.key || "(none)"}` : undefined}>
          {groupBy ? (
            <tr className="group-row" data-group={group.key}>
              <th colSpan={columns} scope="rowgroup">
                <span className="mono">
                  {groupBy}={group.key ? group.key : <span className="faint">(not set)</span>}
                </span>
                <span className="small muted">
                  {" · "}
                  {group.alerts.length} {group.alerts.length === 1 ? "alert" : "alerts"}
                  {Object.entries(group.severities).map(([s, n]) => ` · ${n} ${s}`)}
                </span>
              </th>
            </tr>
          ) : null}
          {group.alerts.map(row)}
        </tbody>
      ))}
    </PagedTable>
  );
}
