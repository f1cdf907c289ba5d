/** Severity, status and state badges of alerts. */
import type { ReactNode } from "react";
import { Link } from "react-router";
import { suppressionOf, type AlertPublic, type AlertStatus, type Severity } from "../../api/alerts";

const SEVERITY_TONE: Record<Severity, string> = {
  critical: "badge-error",
  error: "badge-error",
  warning: "badge-warn",
  info: "badge-muted",
};
const STATUS_TONE: Record<AlertStatus, string> = {
  active: "badge-error",
  acknowledged: "badge-warn",
  resolved: "badge-ok",
};

export function SeverityBadge({ severity }: { severity: Severity }): ReactNode {
  return (
    <span className={`badge ${SEVERITY_TONE[severity]}`} data-severity={severity}>
      {severity}
    </span>
  );
}

export function AlertStatusBadge({ status }: { status: AlertStatus }): ReactNode {
  return (
    <span className={`badge ${STATUS_TONE[status]}`} data-status={status}>
      <span className="dot" aria-hidden="true" />
      {status}
    </span>
  );
}

type StateFields = Pick<AlertPublic, "status" | "is_active" | "silenced_by" | "inhibited_by">;

function suppressedTitle(alert: StateFields): string {
  return alert.silenced_by.length > 0
    ? `Silenced by ${alert.silenced_by.join(", ")}: the condition holds, notifications are held`
    : "Inhibited by another firing alert: the condition holds, notifications are held";
}

/** An alert's state as an operator reads it. An active alert whose notifications are held is
 * shown as "silenced" or "inhibited" (Alertmanager's `suppressed`), not as plainly active; an
 * acknowledged one keeps its status with the reason beside it. */
export function AlertStateBadge({ alert }: { alert: StateFields }): ReactNode {
  const muted = suppressionOf(alert);
  if (muted === null) return <AlertStatusBadge status={alert.status} />;
  const badge = (
    <span className="badge badge-muted" data-state="suppressed" data-muted={muted} title={suppressedTitle(alert)}>
      {alert.status === "active" ? <span className="dot" aria-hidden="true" /> : null}
      {muted}
    </span>
  );
  if (alert.status === "active") return badge;
  return (
    <span className="row" style={{ gap: 4, flexWrap: "wrap" }}>
      <AlertStatusBadge status={alert.status} />
      {badge}
    </span>
  );
}

/** What holds an alert's notifications, with a link to the alert that inhibits it. */
export function SuppressedBy({ alert }: { alert: StateFields }): ReactNode {
  const muted = suppressionOf(alert);
  if (muted === "silenced") return <span>silenced by {alert.silenced_by.join(", ")}</span>;
  if (muted === "inhibited")
    return (
      <span data-testid="inhibited-by">
        inhibited by{" "}
        {alert.inhibited_by.map((id, i) => (
          <span key={id}>
            {i > 0 ? ", " : null}
            <Link to={`/alerts/${id}`}>{alert.inhibited_by.length > 1 ? `alert ${i + 1}` : "a firing alert"}</Link>
          </span>
        ))}
      </span>
    );
  return null;
}
