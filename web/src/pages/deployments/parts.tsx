/** Pieces shared by the deployments page, a deployment's page and the agent page's history. */
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { diffQuery, type DeploymentStatus, type DeploymentSummary } from "../../api/fleet";
import { CardError } from "../../components/ResourceSection";
import { Spinner, Time } from "../../components/ui";
import { triggerText } from "../../lib/fleet";

export function DeploymentBadge({ status }: { status: DeploymentStatus }): ReactNode {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      <span className="dot" aria-hidden="true" />
      {status.replace("_", " ")}
    </span>
  );
}

/** A deployment row's status (with its error), progress, strategy, trigger and start cells. */
export function DeploymentCells({ deployment: d }: { deployment: DeploymentSummary }): ReactNode {
  return (
    <>
      <td>
        <DeploymentBadge status={d.status} />
        {d.error ? <div className="small danger-text">{d.error}</div> : null}
      </td>
      <td>
        <DeploymentProgress deployment={d} />
      </td>
      <td>{d.strategy}</td>
      <td>{triggerText(d)}</td>
      <td>
        <Time value={d.started_at ?? d.created_at} />
      </td>
    </>
  );
}

/** New replicas ready out of those wanted, as a bar and "ready/desired". */
export function DeploymentProgress({ deployment }: { deployment: DeploymentSummary }): ReactNode {
  const { ready, desired, updated } = deployment.progress;
  const share = desired > 0 ? Math.min(100, Math.round((ready / desired) * 100)) : 100;
  return (
    <div
      className="row"
      style={{ gap: 8, flexWrap: "nowrap" }}
      title={`${updated} updated, ${ready} ready of ${desired}`}
      data-progress={`${ready}/${desired}`}
    >
      <div
        className="progress"
        role="progressbar"
        aria-label={`Rollout of ${deployment.version}`}
        aria-valuemin={0}
        aria-valuemax={desired}
        aria-valuenow={ready}
      >
        <span style={{ width: `${share}%` }} />
      </div>
      <span className="mono small">
        {ready}/{desired}
      </span>
      {deployment.phase === "rolling_back" ? <span className="small muted">rolling back</span> : null}
    </div>
  );
}

function show(value: unknown): string {
  if (value === undefined || value === null) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** What changed from what the deployment replaced (or from `base`). */
export function DeploymentDiffView({ id, base = null }: { id: string; base?: string | null }): ReactNode {
  const query = useQuery(diffQuery(id, base));
  if (query.isPending) return <Spinner />;
  if (query.isError) return <CardError error={query.error} />;
  if (query.data.changes.length === 0) return <span className="faint">No changes.</span>;
  return (
    <table className="table" aria-label="Changes">
      <thead>
        <tr>
          <th>Field</th>
          <th>Before</th>
          <th>After</th>
        </tr>
      </thead>
      <tbody>
        {query.data.changes.map((c) => (
          <tr key={c.path}>
            <td className="mono">{c.path}</td>
            <td className="mono diff-before">{show(c.before)}</td>
            <td className="mono diff-after">{show(c.after)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
