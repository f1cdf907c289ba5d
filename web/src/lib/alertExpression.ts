/** The expression behind an alert and its comparison, for the alert's chart. */
import type { AlertPublic } from "../api/alerts";

/** The expression behind an alert: its rule's, or the one in a Prometheus generator URL. */
export function alertExpression(alert: AlertPublic): string | null {
  if (alert.expr) return alert.expr;
  if (!alert.generator_url) return null;
  try {
    return new URL(alert.generator_url).searchParams.get("g0.expr");
  } catch {
    return null;
  }
}

/** `lhs > 100` → the left-hand side and the threshold, so the chart shows the value itself
 * (a comparison only has points while it holds); null when the expression is not of that form. */
export function splitComparison(expr: string): { lhs: string; threshold: number } | null {
  const match = /^(.*?)\s*(?:>=|<=|==|!=|>|<)(?:\s*bool)?\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/is.exec(expr);
  if (!match?.[1] || match[2] === undefined) return null;
  return { lhs: match[1], threshold: Number(match[2]) };
}
