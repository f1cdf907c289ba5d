/** Alerts grouped by a label (alertname, agent or any other), worst first, as the Alerts page
 * shows them; and which of a selection each bulk action applies to. */
import type { AlertPublic, Severity } from "../../api/alerts";

export interface AlertGroup {
  /** The label's value; "" when the alerts do not carry the label. */
  key: string;
  alerts: AlertPublic[];
  /** How many alerts of each severity the group holds. */
  severities: Partial<Record<Severity, number>>;
}

const RANK: Record<Severity, number> = { critical: 0, error: 1, warning: 2, info: 3 };

/** The value an alert has for `by`: its rule name for "alertname", else the label. */
export function groupValue(alert: AlertPublic, by: string): string {
  if (by === "alertname") return alert.labels["alertname"] ?? alert.rule_name;
  return alert.labels[by] ?? "";
}

/** Groups in order of their worst severity, then size, then name; alerts keep their order. */
export function groupAlerts(alerts: AlertPublic[], by: string): AlertGroup[] {
  const groups = new Map<string, AlertGroup>();
  for (const alert of alerts) {
    const key = groupValue(alert, by);
    let group = groups.get(key);
    if (!group) {
      group = { key, alerts: [], severities: {} };
      groups.set(key, group);
    }
    group.alerts.push(alert);
    group.severities[alert.severity] = (group.severities[alert.severity] ?? 0) + 1;
  }
  const worst = (g: AlertGroup): number => Math.min(...g.alerts.map((a) => RANK[a.severity]));
  return [...groups.values()].sort(
    (a, b) =>
      worst(a) - worst(b) || b.alerts.length - a.alerts.length || (a.key || "\uffff").localeCompare(b.key || "\uffff"),
  );
}

/** Label names seen on `alerts` (for the group-by picker), alertname and agent first. */
export function labelKeys(alerts: AlertPublic[]): string[] {
  const keys = new Set<string>();
  for (const alert of alerts) for (const key of Object.keys(alert.labels)) keys.add(key);
  keys.delete("alertname");
  keys.delete("agent");
  return ["alertname", "agent", ...[...keys].sort()];
}

/** Of the selected alerts, those each bulk action applies to: only active alerts can be
 * acknowledged; active and acknowledged ones can be resolved. */
export function bulkTargets(alerts: AlertPublic[], selected: ReadonlySet<string>) {
  const chosen = alerts.filter((a) => selected.has(a.id));
  return {
    acknowledge: chosen.filter((a) => a.status === "active").map((a) => a.id),
    resolve: chosen.filter((a) => a.is_active).map((a) => a.id),
  };
}
