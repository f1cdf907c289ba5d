/** Headline tiles with trend arrows, the connection indicator and the alert strip. */
import type { ReactNode } from "react";
import { Link } from "react-router";
import { Spinner, Time } from "../../components/ui";
import { describeChange } from "../../lib/format";
import type { ConnectionStatus } from "../../lib/ws";
import type { AlertItem, Headline } from "../../api/overview";

const ARROW: Record<Headline["trend"], string> = { up: "↑", down: "↓", flat: "→" };

/** Whether a tile's figures are loaded, loading, or failed (then with a Retry). */
export interface TileState {
  pending: boolean;
  error: boolean;
  retry: () => void;
}

export function TileFailure({ retry }: { retry: () => void }): ReactNode {
  return (
    <div className="ov-tile-failed">
      <span className="error small">Not loaded</span>
      <button type="button" className="btn btn-sm" onClick={retry}>
        Retry
      </button>
    </div>
  );
}

export function HeadlineTile({
  title,
  headline,
  format,
  goodWhenUp,
  testId,
  state,
}: {
  title: string;
  headline: Headline | undefined;
  format: (v: number | null | undefined) => string;
  /** Colours the arrow: up is good (green) or bad (red); undefined keeps it neutral. */
  goodWhenUp?: boolean;
  testId: string;
  state: TileState;
}): ReactNode {
  if (!headline) {
    return (
      <div className="ov-tile card" data-testid={testId} aria-busy={state.pending && !state.error}>
        <div className="ov-tile-title">{title}</div>
        {state.error ? <TileFailure retry={state.retry} /> : <div className="ov-tile-value"><Spinner /></div>}
      </div>
    );
  }
  const change = describeChange(headline.value, headline.previous, headline.history);
  const trend = change.kind === "none" ? "flat" : headline.trend;
  const tone =
    trend === "flat" || goodWhenUp === undefined ? "neutral" : (trend === "up") === goodWhenUp ? "good" : "bad";
  return (
    <div className="ov-tile card" data-testid={testId}>
      <div className="ov-tile-title">{title}</div>
      <div className="ov-tile-value" data-testid={`${testId}-value`}>
        {format(headline.value)}
      </div>
      <div
        className={`ov-trend ov-trend-${tone}`}
        data-testid={`${testId}-trend`}
        title={`previous window: ${format(headline.previous)}`}
      >
        {change.kind === "none" ? (
          <span className="faint">{change.text}</span>
        ) : (
          <>
            <span aria-label={`trend ${trend}`}>{ARROW[trend]}</span> {change.text}{" "}
            <span className="faint">vs {format(headline.previous)}</span>
          </>
        )}
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
  suppressed = 0,
  bySeverity,
  state,
}: {
  items: AlertItem[];
  /** null while the figures are not loaded: never claim "no alerts" then */
  active: number | null;
  /** of `active`, those silenced or inhibited: their notifications are held */
  suppressed?: number;
  bySeverity: Record<string, number>;
  state: TileState;
}): ReactNode {
  let head: ReactNode;
  if (active !== null) {
    const notifying = active - suppressed;
    head = (
      <>
        <strong>{notifying === 0 ? "No active alerts" : `${notifying} active alert${notifying === 1 ? "" : "s"}`}</strong>
        {suppressed > 0 ? (
          <span className="muted" data-testid="alerts-suppressed" title="Silenced or inhibited: the condition holds, notifications are held">
            {suppressed} suppressed
          </span>
        ) : null}
      </>
    );
  }
  else if (state.error) head = <><strong>Alerts not loaded</strong><button type="button" className="btn btn-sm" onClick={state.retry}>Retry</button></>;
  else head = <><Spinner label="Loading alerts" /><span className="faint">Loading alerts…</span></>;
  return (
    <section className="card ov-alerts" aria-label="Active alerts" data-testid="alert-strip">
      <div className="ov-alerts-head">
        {head}
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
            <li key={a.id} className={`ov-sev-${a.severity}${a.suppressed ? " ov-suppressed" : ""}`} data-suppressed={a.suppressed ?? undefined}>
              <span className={`ov-sev ov-sev-${a.severity}`}>{a.severity}</span>
              <span className="ov-alert-name">{a.alertname}</span>
              {a.agent ? <span className="chip">{a.agent}</span> : null}
              {a.suppressed ? (
                <span className="badge badge-muted" data-state="suppressed" title="The condition holds; its notifications are held">
                  {a.suppressed}
                </span>
              ) : (
                <span className="faint">{a.status}</span>
              )}
              <Time value={a.starts_at} />
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
