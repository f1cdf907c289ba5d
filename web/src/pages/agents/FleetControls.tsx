/** Start, stop, restart and scale an agent: inline in the agents list and on the agent page. */
import { useMutation } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { lifecycle, scaleAgent, type LifecycleAction } from "../../api/fleet";
import { errorMessage } from "../../api/problem";
import type { AgentPublic } from "../../api/types";
import { Spinner } from "../../components/ui";
import { useFleetInvalidate } from "../../lib/fleet";

/** Ready/desired replicas, e.g. "1/2", with the health detail as a tooltip. */
export function ReplicaCount({ agent }: { agent: AgentPublic }): ReactNode {
  const health = agent.health;
  if (!health) return <span>{agent.replica_count}</span>;
  const { ready, desired } = health.replicas;
  const tone = desired === 0 ? "muted" : ready >= desired ? "ok" : ready > 0 ? "warn" : "muted";
  return (
    <span
      className={`badge badge-${tone} mono`}
      title={health.detail ?? `${ready} of ${desired} replicas ready`}
      aria-label={`${ready} of ${desired} replicas ready`}
      data-replicas={`${ready}/${desired}`}
    >
      {ready}/{desired}
    </span>
  );
}

export function FleetControls({
  agent,
  compact = false,
}: {
  agent: AgentPublic;
  compact?: boolean;
}): ReactNode {
  const invalidate = useFleetInvalidate(agent.id);
  const [replicas, setReplicas] = useState(String(agent.replica_count));
  const act = useMutation({
    mutationFn: (action: LifecycleAction) => lifecycle(agent.id, action),
    onSettled: invalidate,
  });
  const scale = useMutation({
    mutationFn: (n: number) => scaleAgent(agent.id, n),
    onSettled: invalidate,
  });
  const busy = act.isPending || scale.isPending;
  const stopped = agent.status === "stopped";
  const count = Number(replicas);
  const validCount = replicas.trim() !== "" && Number.isInteger(count) && count >= 0 && count <= 20;
  const error = act.error ?? scale.error;
  const size = compact ? " btn-sm" : "";

  return (
    <div className="fleet-controls" aria-label={`Controls of ${agent.name}`} role="group">
      {stopped ? (
        <button type="button" className={`btn${size}`} disabled={busy} onClick={() => act.mutate("start")}>
          Start
        </button>
      ) : (
        <button type="button" className={`btn${size}`} disabled={busy} onClick={() => act.mutate("stop")}>
          Stop
        </button>
      )}
      {!compact && !stopped ? (
        <button type="button" className="btn" disabled={busy} onClick={() => act.mutate("restart")}>
          Restart
        </button>
      ) : null}
      <form
        className="row"
        style={{ gap: 4, flexWrap: "nowrap" }}
        onSubmit={(event) => {
          event.preventDefault();
          if (validCount) scale.mutate(count);
        }}
      >
        <input
          className={`input mono${compact ? " input-sm" : ""}`}
          style={{ width: 56 }}
          type="number"
          min={0}
          max={20}
          aria-label={`Replicas of ${agent.name}`}
          value={replicas}
          onChange={(e) => setReplicas(e.target.value)}
        />
        <button type="submit" className={`btn${size}`} disabled={busy || !validCount}>
          Scale
        </button>
      </form>
      {busy ? <Spinner label="Working" /> : null}
      {error ? (
        <span className="small danger-text" role="alert">
          {errorMessage(error)}
        </span>
      ) : null}
    </div>
  );
}
