/** One deployment: what it rolled out, its progress, what changed and its events. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Link, useParams } from "react-router";
import { agentQuery } from "../../api/agents";
import { deploymentQuery, fleetKeys } from "../../api/fleet";
import { ApiError } from "../../api/problem";
import { EmptyState, ErrorBanner, LinkButton, Loading, PageHead, Time } from "../../components/ui";
import { formatTime, pretty } from "../../lib/format";
import { useChannel, useLiveConnection } from "../../lib/wsHooks";
import { DeploymentBadge, DeploymentDiffView, DeploymentProgress } from "./parts";
import { triggerText } from "../../lib/fleet";

export function DeploymentDetailPage(): ReactNode {
  const { deploymentId = "" } = useParams();
  const client = useQueryClient();
  useLiveConnection();
  const query = useQuery(deploymentQuery(deploymentId));
  const agentId = query.data?.agent_id ?? "";
  const agent = useQuery({ ...agentQuery(agentId), enabled: Boolean(agentId) });
  useChannel("deployments", {
    onEvent: (data) => {
      const d = (data as { deployment?: { id?: string } }).deployment;
      if (d?.id === deploymentId) void client.invalidateQueries({ queryKey: fleetKeys.deployment(deploymentId) });
    },
  });

  if (query.isPending) return <Loading />;
  if (query.isError) {
    const missing = query.error instanceof ApiError && query.error.status === 404;
    return (
      <>
        <PageHead title="Deployment" crumbs={<Link to="/deployments">Deployments</Link>} />
        {missing ? (
          <div className="card">
            <EmptyState icon="deployments" title="This deployment does not exist" action={<LinkButton to="/deployments">Back to deployments</LinkButton>}>
              <p>The link may be wrong.</p>
            </EmptyState>
          </div>
        ) : (
          <ErrorBanner error={query.error} />
        )}
      </>
    );
  }
  const d = query.data;
  const agentName = agent.data?.data.name ?? d.agent_id;
  return (
    <>
      <PageHead
        crumbs={
          <>
            <Link to="/deployments">Deployments</Link> / {d.version}
          </>
        }
        title={
          <span className="row" style={{ gap: 12 }}>
            <span className="mono" style={{ fontSize: "inherit" }}>{d.version}</span> <DeploymentBadge status={d.status} />
          </span>
        }
        subtitle={
          <>
            of <Link to={`/agents/${d.agent_id}`}>{agentName}</Link>
            {d.description ? ` — ${d.description}` : null}
          </>
        }
      />
      <div className="stack">
        {d.error ? <ErrorBanner error={new Error(d.error)} /> : null}
        <div className="grid-2">
          <section className="card">
            <div className="card-head">
              <h2>Rollout</h2>
            </div>
            <div className="card-body">
              <dl className="props" aria-label="Rollout">
                <dt>Progress</dt>
                <dd>
                  <DeploymentProgress deployment={d} />
                </dd>
                <dt>Phase</dt>
                <dd>{d.phase.replace("_", " ")}</dd>
                <dt>Replaced</dt>
                <dd className="mono">{d.previous_version ?? "—"}</dd>
                <dt>Strategy</dt>
                <dd>{d.strategy}</dd>
                <dt>Replicas</dt>
                <dd>{d.replicas}</dd>
                <dt>Triggered by</dt>
                <dd>{triggerText(d)}</dd>
                <dt>Commit</dt>
                <dd className="mono">{d.commit_sha ?? "—"}{d.author ? ` by ${d.author}` : ""}</dd>
                <dt>Started</dt>
                <dd title={formatTime(d.started_at)}>
                  <Time value={d.started_at} />
                </dd>
                <dt>Finished</dt>
                <dd>
                  <Time value={d.completed_at} />
                </dd>
                <dt>Deadline</dt>
                <dd>{d.deadline_seconds} s{d.max_error_rate !== null ? `, error rate ≤ ${d.max_error_rate}` : ""}</dd>
                {d.rollback_of ? (
                  <>
                    <dt>Rollback of</dt>
                    <dd>
                      <Link className="mono small" to={`/deployments/${d.rollback_of}`}>
                        {d.rollback_of}
                      </Link>
                    </dd>
                  </>
                ) : null}
              </dl>
            </div>
          </section>
          <section className="card">
            <div className="card-head">
              <h2>Spec</h2>
            </div>
            <div className="card-body">
              <pre className="json" aria-label="Spec JSON">{pretty(d.spec)}</pre>
            </div>
          </section>
        </div>
        <section className="card" aria-label="Changes">
          <div className="card-head">
            <h2>What changed</h2>
          </div>
          <div className="table-wrap">
            <DeploymentDiffView id={d.id} />
          </div>
        </section>
        <section className="card" aria-label="Events">
          <div className="card-head">
            <h2>Events</h2>
          </div>
          <div className="table-wrap">
            <table className="table" aria-label="Event list">
              <thead>
                <tr>
                  <th>At</th>
                  <th>Event</th>
                  <th>Replica</th>
                  <th>Message</th>
                </tr>
              </thead>
              <tbody>
                {d.events.map((e, i) => (
                  <tr key={`${e.at}-${i}`}>
                    <td className="mono small nowrap">{formatTime(e.at)}</td>
                    <td className="mono">{e.kind}</td>
                    <td className="mono small nowrap">{e.replica ?? "—"}</td>
                    <td className="small">{e.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>
    </>
  );
}
