/** Why each notification about an alert was or was not sent (for the alert detail page). */
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { ErrorBanner, Spinner, Time } from "../../../components/ui";
import { traceQuery } from "../../../api/routing";

const TONE: Record<string, string> = {
  delivered: "badge-ok",
  enqueued: "badge-ok",
  failed: "badge-error",
  dead: "badge-error",
  "rate-limited": "badge-warn",
  silenced: "badge-warn",
  inhibited: "badge-warn",
  "no-channel": "badge-warn",
};

export function TracePanel({ alertId }: { alertId: string }): ReactNode {
  const trace = useQuery(traceQuery(alertId));
  return (
    <section className="card" aria-label="Notification trace">
      <div className="card-head">
        <h2>Notification trace</h2>
      </div>
      <div className="card-body">
        {trace.isPending ? (
          <Spinner />
        ) : trace.isError ? (
          <ErrorBanner error={trace.error} />
        ) : trace.data.steps.length === 0 ? (
          <p className="muted">The dispatcher has not routed this alert yet.</p>
        ) : (
          <ol className="trace">
            {trace.data.steps.map((s, i) => (
              <li key={i} data-step={s.step}>
                <span className={`badge ${TONE[s.step] ?? ""}`}>{s.step}</span>
                <span>{s.message}</span>
                <Time value={s.at} />
              </li>
            ))}
          </ol>
        )}
        {trace.data?.truncated ? <p className="small muted">Older steps are not shown.</p> : null}
      </div>
    </section>
  );
}
