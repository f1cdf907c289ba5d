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
  return {
    query: params.get("q") ?? "",
    range,
    step,
    view: params.get("view") === "table" ? "table" : "chart",
  };
}

export function paramsFromState(state: ExploreState): URLSearchParams {
  const params = new URLSearchParams();
  if (state.query) params.set("q", state.query);
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
