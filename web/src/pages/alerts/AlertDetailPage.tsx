/** One alert: what fired, its labels and annotations, a chart of the expression around it,
 * the timeline (state changes, acks, notes, notifications) and the actions. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { Link, useParams } from "react-router";
import { queryRange, toChartSeries } from "../../api/prom";
import { useCan } from "../../auth/session";
import { TimeSeriesChart } from "../../components/TimeSeriesChart";
import { DetailHead } from "../../components/DetailHead";
import { ErrorBanner, Labels, Loading, Time } from "../../components/ui";
import { formatValue, seriesOfAlert, type ChartSeries } from "../../lib/chartData";
import { formatTime } from "../../lib/format";
import { alertLogsHref } from "../../lib/logsUrl";
import { useChannel } from "../../lib/wsHooks";
import { TracePanel } from "../alerting/routing/TracePanel";
import { NoteDialog, type NoteAction } from "./AlertActions";
import { AlertStateBadge, SeverityBadge, SuppressedBy } from "./AlertBadges";
import {
  acknowledge,
  addNote,
  alertKeys,
  alertQuery,
  resolve,
  timelineQuery,
  unacknowledge,
  type AlertEventPublic,
  type AlertPublic,
} from "../../api/alerts";
import { silenceAlert } from "../../api/routing";
import { alertExpression, splitComparison } from "../../lib/alertExpression";

const MARGIN_S = 30 * 60;

function ExpressionChart({ alert }: { alert: AlertPublic }): ReactNode {
  const expr = alertExpression(alert);
  const split = expr ? splitComparison(expr) : null;
  const charted = split?.lhs ?? expr;
  const [openedAt] = useState(() => Math.floor(Date.now() / 1000));
  const start = Math.floor(Date.parse(alert.starts_at) / 1000) - MARGIN_S;
  const endOf = alert.resolved_at ?? alert.ends_at;
  const end = alert.is_active || !endOf ? openedAt : Math.floor(Date.parse(endOf) / 1000) + MARGIN_S;
  const step = Math.max(15, Math.ceil((end - start) / 300));
  const query = useQuery({
    queryKey: alertKeys.chart(alert.id, charted, start, alert.is_active ? "live" : end),
    enabled: Boolean(charted),
    queryFn: ({ signal }) =>
      queryRange({ query: charted ?? "", start, end, step }, signal).then((data) => {
        // the alert's own series only: the expression may cover every agent's
        const series: ChartSeries[] = seriesOfAlert(toChartSeries(data), alert.labels).map((s) => ({
          label: s.label,
          points: s.points,
        }));
        if (split && series.length > 0) {
          const threshold: [number, number | null][] = [
            [start, split.threshold],
            [end, split.threshold],
          ];
          series.push({
            label: `threshold ${split.threshold}`,
            points: threshold,
            spanGaps: true,
            dashed: true,
          });
        }
        return series;
      }),
  });
  if (!expr) return <p className="muted">No expression to chart for this alert.</p>;
  return (
    <>
      <div className="mono small muted" style={{ marginBottom: 8 }}>
        {expr}{" "}
        <Link to={`/explore?q=${encodeURIComponent(expr)}`} className="small">
          Open in Explore
        </Link>
      </div>
      {query.isError ? <ErrorBanner error={query.error} /> : null}
      <TimeSeriesChart series={query.data ?? []} height={220} label="Expression around the alert" xRange={[start, end]} />
    </>
  );
}

/** The Logs page on the alert's agent, 15 minutes either side of the start (for a log
 * anomaly: to 15 minutes after the lines it analysed, on its service when no agent). */
function AlertLogsLink({ alert }: { alert: AlertPublic }): ReactNode {
  const href = alertLogsHref(alert);
  if (!href) return null;
  const agent = alert.labels.agent ?? alert.labels.agent_name ?? alert.annotations.agent;
  const windowed = Boolean(alert.annotations.window_start && alert.annotations.window_end);
  const service = windowed && !agent ? alert.labels.service : undefined;
  return (
    <div>
      <dt className="muted">Logs</dt>
      <dd>
        <Link to={href}>{windowed ? "Logs of the lines analysed" : "Logs around the start"}</Link>{" "}
        <span className="faint">
          (
          {agent ? (
            <>
              agent <span className="mono">{agent}</span>
            </>
          ) : service ? (
            <>
              service <span className="mono">{service}</span>
            </>
          ) : (
            "every agent"
          )}
          , {windowed ? "15 min before their window to 15 min after" : "15 min before to 15 min after"})
        </span>
      </dd>
    </div>
  );
}

function Timeline({ events }: { events: AlertEventPublic[] }): ReactNode {
  if (events.length === 0) return <p className="muted">Nothing recorded yet.</p>;
  return (
    <ol className="stack" aria-label="Timeline" style={{ listStyle: "none", padding: 0, margin: 0 }}>
      {events.map((event) => (
        <li key={event.id} data-kind={event.kind} className="row" style={{ alignItems: "baseline", gap: 10 }}>
          <span className="mono small muted nowrap" title={formatTime(event.at)}>
            {formatTime(event.at)}
          </span>
          <span className="badge badge-muted">{event.kind}</span>
          <span>
            {typeof event.data.by === "string" ? <strong>{event.data.by}: </strong> : null}
            {event.message}
            {typeof event.data.previous_alert_id === "string" ? (
              <>
                {" "}
                <Link to={`/alerts/${event.data.previous_alert_id}`}>previous alert</Link>
              </>
            ) : null}
            {typeof event.data.new_alert_id === "string" ? (
              <>
                {" "}
                <Link to={`/alerts/${event.data.new_alert_id}`}>new alert</Link>
              </>
            ) : null}
          </span>
        </li>
      ))}
    </ol>
  );
}

export function AlertDetailPage(): ReactNode {
  const { alertId = "" } = useParams();
  const client = useQueryClient();
  const canAct = useCan("developer");
  const alert = useQuery(alertQuery(alertId));
  const timeline = useQuery(timelineQuery(alertId));
  const [pending, setPending] = useState<NoteAction | null>(null);
  const [note, setNote] = useState("");

  useChannel("alerts", {
    onEvent: (data) => {
      if ((data as { id?: string }).id === alertId) void client.invalidateQueries({ queryKey: alertKeys.all });
    },
  });

  const refresh = (): void => void client.invalidateQueries({ queryKey: alertKeys.all });
  const act = useMutation({
    mutationFn: ({ action, text }: { action: NoteAction | "unacknowledge"; text: string }) =>
      action === "acknowledge"
        ? acknowledge(alertId, text)
        : action === "resolve"
          ? resolve(alertId, text)
          : unacknowledge(alertId),
    onSuccess: () => {
      setPending(null);
      refresh();
    },
  });
  const silence = useMutation({
    mutationFn: () => silenceAlert(alertId, 3600),
    onSuccess: refresh,
  });
  const noteMutation = useMutation({
    mutationFn: (text: string) => addNote(alertId, text),
    onSuccess: () => {
      setNote("");
      refresh();
    },
  });

  if (alert.isPending) return <Loading />;
  if (alert.isError) return <ErrorBanner error={alert.error} />;
  const a = alert.data;
  return (
    <>
      <DetailHead
        list={{ to: "/alerts", label: "Alerts" }}
        docTitle={`${a.rule_name} · Alerts`}
        title={a.rule_name}
        badges={
          <>
            <SeverityBadge severity={a.severity} /> <AlertStateBadge alert={a} />
          </>
        }
        gap={10}
        subtitle={a.annotations.summary ?? a.annotations.description ?? undefined}
        actions={
          canAct ? (
            <>
              {a.status === "active" ? (
                <button type="button" className="btn btn-primary" onClick={() => setPending("acknowledge")}>
                  Acknowledge
                </button>
              ) : null}
              {a.status === "acknowledged" ? (
                <button type="button" className="btn" onClick={() => act.mutate({ action: "unacknowledge", text: "" })}>
                  Unacknowledge
                </button>
              ) : null}
              {a.is_active ? (
                <button type="button" className="btn" onClick={() => setPending("resolve")}>
                  Resolve
                </button>
              ) : null}
              {a.is_active ? (
                <button
                  type="button"
                  className="btn"
                  disabled={silence.isPending}
                  title="Silence alerts with exactly these labels for one hour"
                  onClick={() => silence.mutate()}
                >
                  Silence 1 h
                </button>
              ) : null}
              <Link
                className="btn"
                to={`/alerting/silences?${Object.entries(a.labels)
                  .map(([name, value]) => `matcher=${encodeURIComponent(`${name}=${value}`)}`)
                  .join("&")}`}
              >
                Silence…
              </Link>
            </>
          ) : undefined
        }
      />
      {act.isError ? <ErrorBanner error={act.error} /> : null}
      {silence.isError ? <ErrorBanner error={silence.error} /> : null}
      {silence.isSuccess ? (
        <p className="banner banner-success" role="status">
          Silenced for one hour. <Link to="/alerting/silences">See silences</Link>
        </p>
      ) : null}
      <div className="grid-2">
        <div className="card">
          <div className="card-head">
            <h2>Details</h2>
          </div>
          <div className="card-body">
            <dl className="stack small">
              <div>
                <dt className="muted">Value</dt>
                <dd className="mono">{formatValue(a.value)}</dd>
              </div>
              <div>
                <dt className="muted">Started</dt>
                <dd>
                  {formatTime(a.starts_at)} (<Time value={a.starts_at} />)
                </dd>
              </div>
              <AlertLogsLink alert={a} />
              {a.annotations.anomaly_id ? (
                <div>
                  <dt className="muted">Log anomaly</dt>
                  <dd>
                    <Link to={`/anomalies/${a.annotations.anomaly_id}`}>The anomaly and its lines</Link>
                  </dd>
                </div>
              ) : null}
              {a.resolved_at ? (
                <div>
                  <dt className="muted">Resolved</dt>
                  <dd>
                    {formatTime(a.resolved_at)}
                    {a.resolution_note ? ` — ${a.resolution_note}` : ""}
                  </dd>
                </div>
              ) : null}
              {a.acknowledged_at ? (
                <div>
                  <dt className="muted">Acknowledged</dt>
                  <dd>{formatTime(a.acknowledged_at)}</dd>
                </div>
              ) : null}
              <div>
                <dt className="muted">Duration · escalation level</dt>
                <dd>
                  {Math.round(a.duration_seconds)} s · level {a.escalation_level}
                </dd>
              </div>
              <div>
                <dt className="muted">Source · reason</dt>
                <dd>
                  {a.source} · {a.reason}
                  {a.silenced && a.is_active ? <> · <SuppressedBy alert={a} /></> : null}
                </dd>
              </div>
              <div>
                <dt className="muted">Labels</dt>
                <dd>
                  <Labels labels={a.labels} />
                </dd>
              </div>
              {Object.entries(a.annotations).map(([k, v]) => (
                <div key={k}>
                  <dt className="muted">{k}</dt>
                  <dd>{v}</dd>
                </div>
              ))}
              <div>
                <dt className="muted">Fingerprint</dt>
                <dd className="mono">{a.fingerprint}</dd>
              </div>
              {a.generator_url ? (
                <div>
                  <dt className="muted">Source link</dt>
                  <dd>
                    <a href={a.generator_url} rel="noreferrer" target="_blank">
                      {a.generator_url}
                    </a>
                  </dd>
                </div>
              ) : null}
            </dl>
          </div>
        </div>
        <div className="card">
          <div className="card-head">
            <h2>Expression</h2>
          </div>
          <div className="card-body">
            <ExpressionChart alert={a} />
          </div>
        </div>
      </div>
      <div className="card" style={{ marginTop: 16 }}>
        <div className="card-head">
          <h2>Timeline</h2>
        </div>
        <div className="card-body stack">
          {timeline.isError ? <ErrorBanner error={timeline.error} /> : null}
          <Timeline events={timeline.data?.items ?? []} />
          {canAct ? (
            <form
              className="row"
              onSubmit={(e) => {
                e.preventDefault();
                if (note.trim()) noteMutation.mutate(note.trim());
              }}
            >
              <input
                className="input grow"
                aria-label="Add a note"
                placeholder="Add a note to the timeline"
                value={note}
                maxLength={2000}
                onChange={(e) => setNote(e.target.value)}
              />
              <button type="submit" className="btn" disabled={!note.trim() || noteMutation.isPending}>
                Add note
              </button>
            </form>
          ) : null}
          {noteMutation.isError ? <ErrorBanner error={noteMutation.error} /> : null}
        </div>
      </div>
      <div style={{ marginTop: 16 }}>
        <TracePanel alertId={alertId} />
      </div>
      <NoteDialog
        action={pending}
        count={1}
        busy={act.isPending}
        onConfirm={(text) => pending && act.mutate({ action: pending, text })}
        onCancel={() => setPending(null)}
      />
    </>
  );
}
