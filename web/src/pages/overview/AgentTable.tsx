/** The agent table: status colours, health, key figures and a request-rate sparkline. CPU,
 * memory and "last seen" are the latest sample (the API's latest gauge, then each live frame:
 * the same kind of figure); rates, errors, latency, tokens and cost are the window's
 * aggregates only, so a column never flips between a window figure and a single sample. */
import type { ReactNode } from "react";
import { Link } from "react-router";
import { Icon } from "../../components/Icon";
import { StatusBadge, Time } from "../../components/ui";
import type { AgentLive } from "./live";
import type { AgentMetrics } from "../../api/overview";
import { fmt } from "../../lib/format";

export function Sparkline({ values, label }: { values: (number | null)[]; label: string }): ReactNode {
  const width = 72;
  const height = 24;
  const present = values.filter((v): v is number => v !== null);
  if (present.length < 2) return <span className="faint small">no data</span>;
  const max = Math.max(...present, 1e-9);
  const step = width / Math.max(values.length - 1, 1);
  const points = values
    .map((v, i) => (v === null ? null : `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`))
    .filter(Boolean)
    .join(" ");
  return (
    <svg className="ov-spark" width={width} height={height} role="img" aria-label={label}>
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}

const COLUMNS: { field: string; label: string }[] = [
  { field: "name", label: "Agent" },
  { field: "status", label: "Status" },
  { field: "health", label: "Health" },
  { field: "cpu", label: "CPU now" },
  { field: "memory", label: "Mem now" },
  { field: "request_rate", label: "Req/s" },
  { field: "error_rate", label: "Errors" },
  { field: "p95_latency", label: "p95" },
  { field: "tokens", label: "Tokens" },
  { field: "cost", label: "Cost" },
  { field: "last_seen", label: "Last seen" },
];

function SortHeader({ field, label, sort, onSort }: { field: string; label: string; sort: string; onSort: (s: string) => void }): ReactNode {
  const active = sort === field || sort === `-${field}`;
  const descending = sort.startsWith("-");
  const numeric = field !== "name" && field !== "status" && field !== "health";
  const next = active ? (descending ? field : `-${field}`) : numeric ? `-${field}` : field;
  const ariaSort = active ? (descending ? "descending" : "ascending") : undefined;
  return (
    <th aria-sort={ariaSort}>
      <button type="button" className="sort" onClick={() => onSort(next)}>
        {label}
        {active ? <Icon name={descending ? "arrowDown" : "arrowUp"} /> : null}
      </button>
    </th>
  );
}

export function AgentTable({
  agents,
  live,
  sort,
  onSort,
  footer,
  window,
  states,
}: {
  agents: AgentMetrics[];
  live: (name: string) => AgentLive;
  sort: string;
  onSort: (sort: string) => void;
  footer: ReactNode;
  window: string;
  /** Loading and error states (shown instead of an empty table that would read "0 agents"). */
  states: ReactNode;
}): ReactNode {
  return (
    <section className="card" aria-label="Agents">
      <div className="card-head">
        <h2>Agents</h2>
        <span className="small faint">figures over the last {window}</span>
      </div>
      {states}
      {states && agents.length === 0 ? null : (
      <div className="table-wrap">
        <table className="table ov-table" data-testid="agent-table">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <SortHeader key={c.field} field={c.field} label={c.label} sort={sort} onSort={onSort} />
              ))}
              <th>Trend</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => {
              const now = live(a.name);
              const cpu = now.cpu ?? a.cpu_percent;
              const memory = now.memory ?? a.memory_percent;
              const seen = now.lastSeen ?? a.last_seen;
              return (
                <tr key={a.id} data-agent={a.name} className={`ov-row-${a.health}`}>
                  <td>
                    <Link className="primary-link" to={`/agents/${a.id}`}>
                      {a.name}
                    </Link>
                  </td>
                  <td>
                    <StatusBadge status={a.status} />
                  </td>
                  <td>
                    <span className={`ov-health ov-health-${a.health}`}>
                      <span className="ov-health-dot" aria-hidden="true" />
                      {a.health}
                    </span>
                  </td>
                  <td className="num" data-col="cpu">{fmt.percentValue(cpu)}</td>
                  <td className="num">{fmt.percentValue(memory)}</td>
                  <td className="num" data-col="requests">{fmt.rate(a.request_rate)}</td>
                  <td className="num">{fmt.percent(a.error_rate)}</td>
                  <td className="num">{fmt.seconds(a.p95_latency_seconds)}</td>
                  <td className="num">{fmt.count(a.tokens)}</td>
                  <td className="num">{fmt.usd(a.cost_usd)}</td>
                  <td>
                    <Time value={seen} />
                  </td>
                  <td className={`ov-spark-cell ov-health-${a.health}`}>
                    <Sparkline values={a.sparkline} label={`${a.name} request rate`} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      )}
      {footer}
    </section>
  );
}
