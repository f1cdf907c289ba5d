/** The severity badge of an anomaly (low, medium, high, critical). */
import type { ReactNode } from "react";

const TONE: Record<string, string> = {
  critical: "badge-error",
  high: "badge-error",
  medium: "badge-warn",
  low: "badge-muted",
};

export function AnomalySeverityBadge({ severity }: { severity: string }): ReactNode {
  return (
    <span className={`badge ${TONE[severity] ?? "badge-muted"}`} data-severity={severity}>
      {severity}
    </span>
  );
}
