/** Time ranges of the metrics views: relative ("1h") or absolute, steps, and URL state. */

export const RELATIVE_RANGES = ["15m", "1h", "6h", "24h", "7d"] as const;
export type RelativeRange = (typeof RELATIVE_RANGES)[number];

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** "90s", "15m", "1h", "7d" → seconds; null when it is not a duration. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (!match) return null;
  const n = Number(match[1]);
  const unit = UNIT_SECONDS[match[2] ?? ""];
  if (!unit || !Number.isFinite(n) || n <= 0) return null;
  return n * unit;
}

/** Seconds → the shortest duration text ("1h", "90s", "2d"). */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [["w", 604800], ["d", 86400], ["h", 3600], ["m", 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${Math.round(seconds * 1000) / 1000}s`;
}

export type TimeRange = { kind: "relative"; range: string } | { kind: "absolute"; from: number; to: number };

/** [start, end] in seconds for a range, relative to `now` (ms). */
export function resolveRange(range: TimeRange, now: number = Date.now()): [number, number] {
  if (range.kind === "absolute") return [range.from, range.to];
  const span = parseDuration(range.range) ?? 3600;
  const end = Math.floor(now / 1000);
  return [end - span, end];
}

const NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

/** A step giving about `points` points over the span, rounded to a readable value. */
export function autoStep(start: number, end: number, points = 240): number {
  const raw = Math.max((end - start) / points, 1);
  return NICE_STEPS.find((s) => s >= raw) ?? 86400;
}

export interface ExploreState {
  query: string;
  /** Further queries charted with the first (B, C, …), e.g. every latency quantile. */
  extra?: string[];
  range: TimeRange;
  step: number | null; // null: auto
  view: "chart" | "table";
}

export const DEFAULT_RANGE: TimeRange = { kind: "relative", range: "1h" };

/** The explorer's state from the address (?q=…&range=1h or &from=…&to=…, &step=30s, &view=). */
export function stateFromParams(params: URLSearchParams): ExploreState {
  const from = Number(params.get("from"));
  const to = Number(params.get("to"));
  let range: TimeRange = DEFAULT_RANGE;
  if (params.has("from") && params.has("to") && Number.isFinite(from) && Number.isFinite(to) && from < to) {
    range = { kind: "absolute", from, to };
  } else {
    const r = params.get("range");
    if (r && parseDuration(r) !== null) range = { kind: "relative", range: r };
  }
  const stepText = params.get("step");
  const step = stepText ? parseDuration(stepText) : null;
  const [first, ...more] = params.getAll("q");
  const extra = more.filter((q) => q.trim() !== "");
  return {
    query: first ?? "",
    ...(extra.length ? { extra } : {}),
    range,
    step,
    view: params.get("view") === "table" ? "table" : "chart",
  };
}

export function paramsFromState(state: ExploreState): URLSearchParams {
  const params = new URLSearchParams();
  if (state.query) params.set("q", state.query);
  for (const q of state.extra ?? []) if (q.trim()) params.append("q", q);
  if (state.range.kind === "relative") params.set("range", state.range.range);
  else {
    params.set("from", String(state.range.from));
    params.set("to", String(state.range.to));
  }
  if (state.step !== null) params.set("step", formatDuration(state.step));
  if (state.view === "table") params.set("view", "table");
  return params;
}

/** Seconds → the value of a datetime-local input (local time). */
export function toLocalInput(seconds: number): string {
  const d = new Date(seconds * 1000);
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(text: string): number | null {
  const ms = new Date(text).getTime();
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/** Twice the span around the same middle: a relative range stays relative ("1h" → "2h"). */
export function zoomOut(range: TimeRange, now: number = Date.now()): TimeRange {
  if (range.kind === "relative") {
    const span = parseDuration(range.range) ?? 3600;
    return { kind: "relative", range: formatDuration(span * 2) };
  }
  const span = range.to - range.from;
  const end = Math.min(range.to + Math.round(span / 2), Math.floor(now / 1000));
  return { kind: "absolute", from: end - span * 2, to: end };
}

export const REFRESH_INTERVALS = ["5s", "10s", "30s", "1m", "5m"] as const;

/** The time settings every metrics page shares, as they sit in the address:
 * `range=1h` or `from=…&to=…`, `tz=utc`, `refresh=30s`. */
export interface TimeSettings {
  range: TimeRange;
  utc: boolean;
  /** seconds between refreshes; null: off */
  refresh: number | null;
}

export function timeSettingsFromParams(params: URLSearchParams, fallback: TimeRange = DEFAULT_RANGE): TimeSettings {
  const hasRange = params.has("range") || (params.has("from") && params.has("to"));
  const range = hasRange ? stateFromParams(params).range : fallback;
  const refreshText = params.get("refresh");
  return {
    range,
    utc: params.get("tz") === "utc",
    refresh: refreshText ? parseDuration(refreshText) : null,
  };
}

/** `params` with the time settings written in (other parameters kept). */
export function withTimeSettings(params: URLSearchParams, settings: Partial<TimeSettings>): URLSearchParams {
  const next = new URLSearchParams(params);
  if (settings.range) {
    next.delete("range");
    next.delete("from");
    next.delete("to");
    if (settings.range.kind === "relative") next.set("range", settings.range.range);
    else {
      next.set("from", String(settings.range.from));
      next.set("to", String(settings.range.to));
    }
  }
  if (settings.utc !== undefined) {
    if (settings.utc) next.set("tz", "utc");
    else next.delete("tz");
  }
  if (settings.refresh !== undefined) {
    if (settings.refresh === null) next.delete("refresh");
    else next.set("refresh", formatDuration(settings.refresh));
  }
  return next;
}
