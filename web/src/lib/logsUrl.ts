/**
 * The Logs page's state in the address: `?q=<LogQL>&range=15m` or `&from=<s>&to=<s>`, and
 * `&live=1`. A copied link reproduces the view; links from other pages (an agent, an alert)
 * are built here too.
 */
import { quote } from "./logql";
import { parseDuration, type TimeRange } from "./timeRange";

export const LOG_PRESETS = ["5m", "15m", "1h", "6h", "24h", "7d"] as const;

export interface LogsViewState {
  query: string;
  range: TimeRange;
  /** Tail new lines over the WebSocket (relative ranges only). */
  live: boolean;
}

export const DEFAULT_LOGS_RANGE: TimeRange = { kind: "relative", range: "1h" };
/** The range live mode switches to when it is turned on over an absolute range. */
export const LIVE_RANGE: TimeRange = { kind: "relative", range: "15m" };

export function logsStateFromParams(params: URLSearchParams): LogsViewState {
  const from = Number(params.get("from"));
  const to = Number(params.get("to"));
  let range: TimeRange = DEFAULT_LOGS_RANGE;
  if (params.has("from") && params.has("to") && Number.isFinite(from) && Number.isFinite(to) && from < to) {
    range = { kind: "absolute", from, to };
  } else {
    const r = params.get("range");
    if (r && parseDuration(r) !== null) range = { kind: "relative", range: r };
  }
  const live = range.kind === "relative" && ["1", "true", "on"].includes(params.get("live") ?? "");
  return { query: params.get("q") ?? "", range, live };
}

export function logsParams(state: LogsViewState): URLSearchParams {
  const params = new URLSearchParams();
  if (state.query) params.set("q", state.query);
  if (state.range.kind === "relative") params.set("range", state.range.range);
  else {
    params.set("from", String(state.range.from));
    params.set("to", String(state.range.to));
  }
  if (state.live && state.range.kind === "relative") params.set("live", "1");
  return params;
}

/** The Logs page showing `state`. */
export function logsHref(state: Partial<LogsViewState>): string {
  const params = logsParams({ query: "", range: DEFAULT_LOGS_RANGE, live: false, ...state });
  return `/logs?${params.toString()}`;
}

/** An absolute range from `before` seconds before to `after` seconds after an instant (RFC 3339). */
export function rangeAround(instant: string, before: number, after: number): TimeRange | null {
  const ms = Date.parse(instant);
  if (Number.isNaN(ms)) return null;
  const at = Math.floor(ms / 1000);
  return { kind: "absolute", from: at - before, to: at + after };
}

/** A range zoomed to [from, to] seconds (a drag on the histogram), widened to whole seconds. */
export function zoomRange(from: number, to: number): TimeRange | null {
  const start = Math.floor(Math.min(from, to));
  let end = Math.ceil(Math.max(from, to));
  if (end <= start) end = start + 1;
  if (!Number.isFinite(start) || !Number.isFinite(end)) return null;
  return { kind: "absolute", from: start, to: end };
}

/** [start, end) of a range as RFC 3339, relative ones ending at `nowMs` (millisecond precision,
 * so a line written a moment ago is inside). */
export function rangeBounds(range: TimeRange, nowMs: number): [string, string] {
  if (range.kind === "absolute") {
    return [new Date(range.from * 1000).toISOString(), new Date(range.to * 1000).toISOString()];
  }
  const span = (parseDuration(range.range) ?? 3600) * 1000;
  const end = nowMs + 1;
  return [new Date(end - span).toISOString(), new Date(end).toISOString()];
}

/** A stable text for a range (query keys, labels). */
export function rangeKey(range: TimeRange): string {
  return range.kind === "relative" ? range.range : `${range.from}-${range.to}`;
}

/** The query of one agent's lines. */
export function agentLogQuery(agent: string): string {
  return `{agent=${quote(agent)}}`;
}

/** The query of one service's lines. */
export function serviceLogQuery(service: string): string {
  return `{service=${quote(service)}}`;
}

interface AlertForLogs {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  starts_at: string;
}

/** The Logs page around an alert's start: its agent's lines (every line when it names none)
 * from `before` seconds before to `after` seconds after. A log-anomaly alert carries the
 * window of the lines analysed (`window_start`, `window_end` annotations, and `agent` when the
 * evidence has one): the range is then that window widened by `before` and `after` (a backfill's
 * lines are long before the alert was raised), and without an agent the query is its service's
 * lines. */
export function alertLogsHref(alert: AlertForLogs, before = 15 * 60, after = 15 * 60): string | null {
  const notes = alert.annotations ?? {};
  const windowStart = Date.parse(notes.window_start ?? "");
  const windowEnd = Date.parse(notes.window_end ?? "");
  const windowed = !Number.isNaN(windowStart) && !Number.isNaN(windowEnd);
  const range = windowed
    ? {
        kind: "absolute" as const,
        from: Math.floor(windowStart / 1000) - before,
        to: Math.ceil(windowEnd / 1000) + after,
      }
    : rangeAround(alert.starts_at, before, after);
  if (!range) return null;
  const agent = alert.labels.agent ?? alert.labels.agent_name ?? notes.agent ?? "";
  const service = windowed ? (alert.labels.service ?? "") : "";
  const query = agent ? agentLogQuery(agent) : service ? serviceLogQuery(service) : "";
  return logsHref({ query, range });
}
