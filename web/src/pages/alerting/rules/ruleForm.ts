/** The rule editor's form: its state, Prometheus-style durations ("5m", "1h30m"), inline
 * validation (no browser bubbles) and the request body it becomes. */
import type { AlertRule, AlertRuleCreate, Severity, ThresholdForm } from "../../../api/rules";

export type Mode = "threshold" | "promql";
export type NoData = AlertRuleCreate["no_data_state"];

export interface RuleForm {
  name: string;
  severity: Severity;
  mode: Mode;
  metric: string;
  aggregation: ThresholdForm["aggregation"];
  window: string;
  operator: ThresholdForm["operator"];
  threshold: string;
  expr: string;
  /** Durations as typed: "0", "30s", "5m", "1h30m". */
  forDuration: string;
  interval: string;
  noData: NoData;
  summary: string;
  enabled: boolean;
}

export type RuleFormErrors = Partial<Record<keyof RuleForm, string>>;

export const EMPTY_RULE_FORM: RuleForm = {
  name: "",
  severity: "warning",
  mode: "threshold",
  metric: "agent_cpu_percent",
  aggregation: "avg",
  window: "5m",
  operator: ">=",
  threshold: "80",
  expr: "",
  forDuration: "0s",
  interval: "1m",
  noData: "ok",
  summary: "{{ $labels.agent }} is at {{ $value }}",
  enabled: true,
};

const UNITS: Record<string, number> = { y: 31_536_000, w: 604_800, d: 86_400, h: 3600, m: 60, s: 1, ms: 0.001 };
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const MAX_SECONDS = 86_400 * 7;

/** Seconds in a duration like "90s", "5m", "1h30m" ("0" and "" are 0); null if it is not one. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (t === "" || t === "0") return 0;
  const match = DURATION.exec(t);
  if (!match || match.slice(1).every((g) => !g)) return null;
  const units = ["y", "w", "d", "h", "m", "s", "ms"];
  return match.slice(1).reduce((sum, g, i) => sum + Number(g || 0) * (UNITS[units[i] ?? "s"] ?? 0), 0);
}

/** 300 → "5m", 5400 → "1h30m", 0 → "0s", 12.5 → "12500ms". */
export function formatDuration(seconds: number): string {
  if (seconds <= 0) return "0s";
  if (!Number.isInteger(seconds)) return `${Math.round(seconds * 1000)}ms`;
  let rest = seconds;
  let out = "";
  for (const unit of ["d", "h", "m", "s"]) {
    const size = UNITS[unit] ?? 1;
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

export function formOf(rule: AlertRule): RuleForm {
  const t = rule.threshold;
  return {
    name: rule.name,
    severity: rule.severity,
    mode: t ? "threshold" : "promql",
    metric: t?.metric_name ?? EMPTY_RULE_FORM.metric,
    aggregation: t?.aggregation ?? "avg",
    window: t?.window ?? "5m",
    operator: t?.operator ?? ">=",
    threshold: t ? String(t.threshold) : EMPTY_RULE_FORM.threshold,
    expr: rule.expr,
    forDuration: formatDuration(rule.for_seconds),
    interval: formatDuration(rule.interval_seconds),
    noData: rule.no_data_state,
    summary: rule.annotations["summary"] ?? "",
    enabled: rule.enabled,
  };
}

const DURATION_HINT = "a duration such as 30s, 5m or 1h30m";

/** What is wrong with the form, field by field (empty when it can be sent). */
export function validateRuleForm(form: RuleForm): RuleFormErrors {
  const errors: RuleFormErrors = {};
  if (!form.name.trim()) errors.name = "Give the rule a name.";
  else if (form.name.trim().length > 200) errors.name = "At most 200 characters.";
  if (form.mode === "threshold") {
    if (!form.metric.trim()) errors.metric = "Pick a metric.";
    else if (!METRIC_NAME.test(form.metric.trim()))
      errors.metric = "A metric name: letters, digits, '_' and ':', not starting with a digit.";
    const window = parseDuration(form.window);
    if (window === null) errors.window = `Use ${DURATION_HINT}.`;
    else if (window <= 0) errors.window = "The window must be longer than 0s.";
    if (form.threshold.trim() === "" || !Number.isFinite(Number(form.threshold)))
      errors.threshold = "Enter a number.";
  } else if (!form.expr.trim()) {
    errors.expr = "Write the PromQL expression.";
  }
  const pending = parseDuration(form.forDuration);
  if (pending === null) errors.forDuration = `Use ${DURATION_HINT} (0s fires at once).`;
  else if (pending > MAX_SECONDS) errors.forDuration = "At most 7d.";
  const interval = parseDuration(form.interval);
  if (interval === null) errors.interval = `Use ${DURATION_HINT}.`;
  else if (interval < 1 || interval > 86_400) errors.interval = "Between 1s and 1d.";
  return errors;
}

export function bodyOf(form: RuleForm, rule: AlertRule | undefined): AlertRuleCreate {
  const shared = {
    name: form.name.trim(),
    description: rule?.description ?? "",
    group: rule?.group ?? "default",
    keep_firing_for_seconds: rule?.keep_firing_for_seconds ?? 0,
    severity: form.severity,
    for_seconds: parseDuration(form.forDuration) ?? 0,
    interval_seconds: parseDuration(form.interval) || 60,
    no_data_state: form.noData,
    enabled: form.enabled,
    annotations: { ...(rule?.annotations ?? {}), summary: form.summary },
  };
  if (form.mode === "promql") return { ...shared, expr: form.expr };
  return {
    ...shared,
    threshold: {
      metric_name: form.metric.trim(),
      aggregation: form.aggregation,
      window: form.window.trim(),
      operator: form.operator,
      threshold: Number(form.threshold),
    },
  };
}

/** Server field errors (keys like "body.threshold.metric_name") mapped onto the form's fields. */
const SERVER_FIELDS: [string, keyof RuleForm][] = [
  ["metric_name", "metric"],
  ["for_seconds", "forDuration"],
  ["interval_seconds", "interval"],
  ["no_data_state", "noData"],
  ["annotations", "summary"],
  ["name", "name"],
  ["severity", "severity"],
  ["aggregation", "aggregation"],
  ["window", "window"],
  ["operator", "operator"],
  ["threshold", "threshold"],
  ["expr", "expr"],
];

export function formErrorsOf(server: Record<string, string>): RuleFormErrors {
  const out: RuleFormErrors = {};
  for (const [key, message] of Object.entries(server)) {
    const last = key.split(".").filter((p) => !/^\d+$/.test(p)).pop() ?? key;
    const field = SERVER_FIELDS.find(([name]) => name === last)?.[1];
    if (field && !out[field]) out[field] = message;
  }
  return out;
}
