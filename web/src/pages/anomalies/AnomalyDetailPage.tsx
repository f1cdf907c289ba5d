/** One anomaly: what was found, when its lines happened (and, apart, when it was detected),
 * why (the LLM's explanation when there is one), what to do, the alert it raised, and the
 * evidence lines themselves. */
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Link, useParams } from "react-router";
import { anomalyQuery } from "../../api/anomalies";
import { QueryStates } from "../../components/QueryStates";
import { ResourceSection } from "../../components/ResourceSection";
import { EmptyState, PageHead, Time } from "../../components/ui";
import { formatTime, formatWindow } from "../../lib/format";
import { logsHref, serviceLogQuery } from "../../lib/logsUrl";
import { AnomalySeverityBadge } from "./AnomalyBadges";

/** The Logs page on the anomaly's service over its window, a minute either side. */
function windowLogsHref(start: string, end: string, service: string): string {
  const from = Math.floor(Date.parse(start) / 1000) - 60;
  const to = Math.ceil(Date.parse(end) / 1000) + 60;
  return logsHref({ query: service ? serviceLogQuery(service) : "", range: { kind: "absolute", from, to } });
}

export function AnomalyDetailPage(): ReactNode {
  const { anomalyId = "" } = useParams();
  const query = useQuery(anomalyQuery(anomalyId));
  const a = query.data;
  return (
    <>
      <PageHead
        title={a ? a.description : "Anomaly"}
        crumbs={<Link to="/anomalies">Anomalies</Link>}
        actions={
          a?.alert_id ? (
            <Link className="btn btn-primary" to={`/alerts/${a.alert_id}`}>
              View alert
            </Link>
          ) : undefined
        }
      />
      <QueryStates query={query} isEmpty={false} minHeight={200}>
        {a ? (
          <div className="stack">
            <ResourceSection title="What was found">
              <div className="card-body">
                <dl className="props">
                  <dt>Severity</dt>
                  <dd>
                    <AnomalySeverityBadge severity={a.severity} />
                  </dd>
                  <dt>Type</dt>
                  <dd className="mono">{a.anomaly_type}</dd>
                  <dt>Service</dt>
                  <dd>{a.service || "—"}</dd>
                  <dt>Confidence</dt>
                  <dd>{Math.round(a.confidence_score * 100)}%</dd>
                  <dt>Lines</dt>
                  <dd data-testid="window">
                    {formatWindow(a.window_start, a.window_end)} (<Time value={a.window_start} />){" "}
                    <Link to={windowLogsHref(a.window_start, a.window_end, a.service)} className="small">
                      Logs of this window
                    </Link>
                  </dd>
                  <dt>Detected</dt>
                  <dd className="muted" data-testid="detected">
                    {formatTime(a.detected_at)} (<Time value={a.detected_at} />)
                  </dd>
                  <dt>Found by</dt>
                  <dd className="mono">{a.detector}</dd>
                  <dt>Stream</dt>
                  <dd>{a.stream || "—"}</dd>
                  <dt>Evidence</dt>
                  <dd>
                    {a.evidence_count} lines
                    {a.evidence.template_ids.length ? (
                      <>
                        {" "}
                        · templates{" "}
                        <span className="mono">{a.evidence.template_ids.map((t) => `#${t}`).join(" ")}</span>
                      </>
                    ) : null}
                  </dd>
                  <dt>Alert</dt>
                  <dd>{a.alert_id ? <Link to={`/alerts/${a.alert_id}`}>{a.alert_id}</Link> : "none (below the alert threshold)"}</dd>
                </dl>
              </div>
            </ResourceSection>
            {a.explanation ? (
              <ResourceSection title="Explanation">
                <div className="card-body" data-testid="explanation">
                  <p style={{ whiteSpace: "pre-wrap" }}>{a.explanation}</p>
                  {a.prompt_tokens || a.completion_tokens ? (
                    <div className="small muted">
                      {a.prompt_tokens} prompt + {a.completion_tokens} completion tokens
                    </div>
                  ) : null}
                </div>
              </ResourceSection>
            ) : null}
            <ResourceSection title="Recommended actions">
              <div className="card-body">
                {a.recommended_actions.length ? (
                  <ol data-testid="actions">
                    {a.recommended_actions.map((action) => (
                      <li key={action}>{action}</li>
                    ))}
                  </ol>
                ) : (
                  <span className="faint">None suggested.</span>
                )}
              </div>
            </ResourceSection>
            <ResourceSection title="Evidence lines" note={`${a.lines.length} of ${a.evidence_count}`}>
              {a.lines.length ? (
                <div className="table-wrap">
                  <table className="table" aria-label="Evidence lines">
                    <thead>
                      <tr>
                        <th>Time</th>
                        <th>Severity</th>
                        <th>Service</th>
                        <th>Message</th>
                      </tr>
                    </thead>
                    <tbody>
                      {a.lines.map((line) => (
                        <tr key={line.id}>
                          <td className="nowrap small">{new Date(line.timestamp).toLocaleString()}</td>
                          <td className="mono small">{line.severity}</td>
                          <td>{line.service}</td>
                          <td className="mono small">{line.message}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ) : (
                <EmptyState icon="logs" title="No lines kept" />
              )}
            </ResourceSection>
          </div>
        ) : null}
      </QueryStates>
    </>
  );
}
