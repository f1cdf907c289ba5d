/** One deployment: what it rolled out, its progress, what changed and its events. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Link, useParams } from "react-router";
import { agentQuery } from "../../api/agents";
import { deploymentQuery, fleetKeys } from "../../api/fleet";
import { DetailFailure, DetailHead, PropList } from "../../components/DetailHead";
import { ErrorBanner, Loading, Time } from "../../components/ui";
import { formatTime, pretty } from "../../lib/format";
import { useChannel, useLiveConnection } from "../../lib/wsHooks";
import { DeploymentBadge, DeploymentDiffView, DeploymentProgress } from "./parts";
import { triggerText } from "../../lib/fleet";

const DEPLOYMENTS = { to: "/deployments", label: "Deployments" };

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
    return (
      <DetailFailure what="Deployment" list={DEPLOYMENTS} icon="deployments" error={query.error}>
        <p>The link may be wrong.</p>
      </DetailFailure>
    );
  }
  const d = query.data;
  const agentName = agent.data?.data.name ?? d.agent_id;
  return (
    <>
      <DetailHead
        list={DEPLOYMENTS}
        crumb={d.version}
        title={<span className="mono" style={{ fontSize: "inherit" }}>{d.version}</span>}
        badges={<DeploymentBadge status={d.status} />}
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
              <PropList
                label="Rollout"
                items={[
                  ["Progress", <DeploymentProgress deployment={d} />],
                  ["Phase", d.phase.replace("_", " ")],
                  ["Replaced", d.previous_version ?? "—", "mono"],
                  ["Strategy", d.strategy],
                  ["Replicas", d.replicas],
                  ["Triggered by", triggerText(d)],
                  ["Commit", `${d.commit_sha ?? "—"}${d.author ? ` by ${d.author}` : ""}`, "mono"],
                  ["Started", <Time value={d.started_at} />, undefined, formatTime(d.started_at)],
                  ["Finished", <Time value={d.completed_at} />],
                  ["Deadline", `${d.deadline_seconds} s${d.max_error_rate !== null ? `, error rate ≤ ${d.max_error_rate}` : ""}`],
                  Boolean(d.rollback_of) && [
                    "Rollback of",
                    <Link className="mono small" to={`/deployments/${d.rollback_of}`}>
                      {d.rollback_of}
                    </Link>,
                  ],
                ]}
              />
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
