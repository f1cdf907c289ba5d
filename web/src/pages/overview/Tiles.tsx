/** Headline tiles with trend arrows, the connection indicator and the alert strip. */
import type { ReactNode } from "react";
import { Link } from "react-router";
import { Time } from "../../components/ui";
import type { ConnectionStatus } from "../../lib/ws";
import type { AlertItem, Headline } from "../../api/overview";

const ARROW: Record<Headline["trend"], string> = { up: "↑", down: "↓", flat: "→" };

export function HeadlineTile({
  title,
  headline,
  format,
  goodWhenUp,
  testId,
}: {
  title: string;
  headline: Headline | undefined;
  format: (v: number | null | undefined) => string;
  /** Colours the arrow: up is good (green) or bad (red); undefined keeps it neutral. */
  goodWhenUp?: boolean;
  testId: string;
}): ReactNode {
  const trend = headline?.trend ?? "flat";
  const tone =
    trend === "flat" || goodWhenUp === undefined ? "neutral" : (trend === "up") === goodWhenUp ? "good" : "bad";
  const change = headline?.change_percent;
  return (
    <div className="ov-tile card" data-testid={testId}>
      <div className="ov-tile-title">{title}</div>
      <div className="ov-tile-value" data-testid={`${testId}-value`}>
        {format(headline?.value)}
      </div>
      <div className={`ov-trend ov-trend-${tone}`} title={`previous window: ${format(headline?.previous)}`}>
        <span aria-label={`trend ${trend}`}>{ARROW[trend]}</span>{" "}
        {change === null || change === undefined ? "" : `${change > 0 ? "+" : ""}${change.toFixed(1)}% `}
        <span className="faint">vs {format(headline?.previous)}</span>
      </div>
    </div>
  );
}

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  connecting: "Connecting",
  live: "Live",
  reconnecting: "Reconnecting",
  offline: "Offline",
};

export function ConnectionIndicator({ status }: { status: ConnectionStatus }): ReactNode {
  return (
    <span className={`ov-conn ov-conn-${status}`} data-testid="connection" data-status={status} role="status">
      <span className="ov-conn-dot" aria-hidden="true" />
      {STATUS_TEXT[status]}
    </span>
  );
}

export function AlertStrip({
  items,
  active,
  bySeverity,
}: {
  items: AlertItem[];
  active: number;
  bySeverity: Record<string, number>;
}): ReactNode {
  return (
    <section className="card ov-alerts" aria-label="Active alerts" data-testid="alert-strip">
      <div className="ov-alerts-head">
        <strong>{active === 0 ? "No active alerts" : `${active} active alert${active === 1 ? "" : "s"}`}</strong>
        {(["critical", "error", "warning", "info"] as const).map((s) =>
          bySeverity[s] ? (
            <span key={s} className={`ov-sev ov-sev-${s}`}>
              {bySeverity[s]} {s}
            </span>
          ) : null,
        )}
        <Link className="small" to="/alerts">
          All alerts
        </Link>
      </div>
      {items.length > 0 ? (
        <ul className="ov-alert-list">
          {items.map((a) => (
            <li key={a.id} className={`ov-sev-${a.severity}`}>
              <span className={`ov-sev ov-sev-${a.severity}`}>{a.severity}</span>
              <span className="ov-alert-name">{a.alertname}</span>
              {a.agent ? <span className="chip">{a.agent}</span> : null}
              <span className="faint">{a.status}</span>
              <Time value={a.starts_at} />
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
