/** The charts of the agent detail page: PromQL per panel on the agent's series. */
import type { Labels } from "../../api/prom";
import type { Unit } from "../../lib/format";
import { formatDuration, paramsFromState, type TimeRange } from "../../lib/timeRange";

export interface Panel {
  title: string;
  unit: Unit;
  queries: { expr: (sel: string, w: string) => string; label: (metric: Labels) => string }[];
}

const fixed = (label: string) => (): string => label;

export const AGENT_PANELS: Panel[] = [
  {
    title: "CPU",
    unit: "percent",
    queries: [{ expr: (s) => `avg(agent_cpu_percent${s})`, label: fixed("cpu") }],
  },
  {
    title: "Memory",
    unit: "percent",
    queries: [{ expr: (s) => `avg(agent_memory_percent${s})`, label: fixed("memory") }],
  },
  {
    title: "Request rate",
    unit: "rate",
    queries: [{ expr: (s, w) => `sum(rate(agent_requests_total${s}[${w}]))`, label: fixed("requests/s") }],
  },
  {
    title: "Error rate",
    unit: "percent",
    queries: [
      {
        expr: (s, w) => `100 * sum(rate(agent_errors_total${s}[${w}])) / sum(rate(agent_requests_total${s}[${w}]))`,
        label: fixed("errors %"),
      },
    ],
  },
  {
    title: "Latency",
    unit: "seconds",
    queries: [
      ...[0.5, 0.95, 0.99].map((q) => ({
        expr: (s: string, w: string) =>
          `histogram_quantile(${q}, sum by (le) (rate(agent_request_duration_seconds_bucket${s}[${w}])))`,
        label: fixed(`p${Math.round(q * 100)}`),
      })),
      // Agents that send the simple per-agent report have a latency gauge instead of a histogram.
      { expr: (s: string) => `avg(agent_request_latency_seconds${s})`, label: fixed("reported") },
    ],
  },
  {
    title: "Tokens",
    unit: "tokens/s",
    queries: [
      {
        expr: (s, w) => `sum by (type) (rate(agent_tokens_total${s}[${w}]))`,
        label: (m) => m.type ?? "tokens",
      },
    ],
  },
  {
    title: "Cost",
    unit: "usd/h",
    queries: [{ expr: (s, w) => `3600 * sum(rate(agent_cost_usd_total${s}[${w}]))`, label: fixed("USD/hour") }],
  },
];

/** The rate window for a step: at least a minute and four steps. */
export function rateWindow(step: number): string {
  return formatDuration(Math.max(60, step * 4));
}


/** The explorer's address for a panel: every query of it (all latency quantiles, say). */
export function exploreHref(panel: Panel, selector: string, window: string, range: TimeRange): string {
  const [first = "", ...extra] = panel.queries.map((q) => q.expr(selector, window));
  return `/explore?${paramsFromState({ query: first, extra, range, step: null, view: "chart" }).toString()}`;
}

