/** Severity and status badges of alerts. */
import type { ReactNode } from "react";
import type { AlertStatus, Severity } from "../../api/alerts";

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
