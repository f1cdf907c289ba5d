/** Display helpers for times and small values. */

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const absolute = new Intl.DateTimeFormat("en", {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** "3 minutes ago", "in 2 days"; "never" for null. */
export function timeAgo(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "never";
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((then - now) / 1000);
  if (Math.abs(seconds) < 10) return "just now";
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") {
      return relative.format(Math.trunc(seconds / size), unit);
    }
  }
  return iso;
}

/** A full local timestamp, for tooltips and detail pages. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const then = Date.parse(iso);
  return Number.isNaN(then) ? iso : absolute.format(then);
}

const clock = new Intl.DateTimeFormat("en", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** A span of time: "Dec 7, 2026, 08:00:00 – 08:01:35" (the end's date only when it differs);
 * one time when both ends are the same. */
export function formatWindow(start: string, end: string): string {
  const from = Date.parse(start);
  const to = Date.parse(end);
  if (Number.isNaN(from) || Number.isNaN(to)) return `${start} – ${end}`;
  if (from === to) return absolute.format(from);
  const sameDay = new Date(from).toDateString() === new Date(to).toDateString();
  return `${absolute.format(from)} – ${sameDay ? clock.format(to) : absolute.format(to)}`;
}

export function initials(name: string): string {
  const parts = name.trim().split(/[\s._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? (parts[0]?.[0] ?? "") + (parts[1]?.[0] ?? "") : name.slice(0, 2);
  return letters.toUpperCase();
}

export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** A duration as a rule shows it: "0s", "90s", "5m", "2h". */
export function compactSeconds(seconds: number): string {
  if (seconds === 0) return "0s";
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** A duration as routing shows it: "30 s", "5 min", "2 h"; "—" when unset. */
export function spacedSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return "—";
  if (s % 3600 === 0 && s >= 3600) return `${s / 3600} h`;
  if (s % 60 === 0 && s >= 60) return `${s / 60} min`;
  return `${s} s`;
}

/* ---------- numbers and units: the one place values are formatted for display ---------- */

/** What a value measures; decides its suffix and scaling everywhere it is shown. */
export type Unit =
  | "" // a plain number
  | "count" // a plain number (a total)
  | "percent" // already 0–100
  | "ratio" // 0–1, shown as a percentage
  | "seconds"
  | "rate" // per second
  | "usd"
  | "usd/h"
  | "tokens/s";

const DASH = "—";

function trimZeros(text: string): string {
  return text.includes("e") || !text.includes(".") ? text : text.replace(/\.?0+$/, "");
}

/** Three significant digits with k/M/G/T for large values: 7.246005517 → "7.25",
 * 1234567 → "1.23M", 0.00042 → "0.00042", 100 → "100". */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return DASH;
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "-∞";
  if (v === 0) return "0";
  const abs = Math.abs(v);
  const sign = v < 0 ? "-" : "";
  for (const [size, suffix] of [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]] as const) {
    if (abs >= size) {
      const scaled = abs / size;
      // 999.95k rounds to "1000k": move up a suffix instead
      const text = trimZeros(scaled.toPrecision(3));
      return Number(text) >= 1000 && suffix !== "T" ? `${sign}${trimZeros((scaled / 1000).toPrecision(3))}${suffix === "k" ? "M" : suffix === "M" ? "G" : "T"}` : `${sign}${text}${suffix}`;
    }
  }
  if (abs >= 100) return `${sign}${Math.round(abs)}`;
  return `${sign}${trimZeros(abs.toPrecision(3))}`;
}

function formatSeconds(v: number): string {
  const abs = Math.abs(v);
  if (abs === 0) return "0 s";
  if (abs < 1e-3) return `${formatNumber(v * 1e6)} µs`;
  if (abs < 1) return `${formatNumber(v * 1e3)} ms`;
  if (abs < 60) return `${formatNumber(v)} s`;
  if (abs < 3600) return `${formatNumber(v / 60)} min`;
  return `${formatNumber(v / 3600)} h`;
}

function formatUsd(v: number): string {
  const abs = Math.abs(v);
  const sign = v < 0 ? "-" : "";
  if (abs === 0) return "$0.00";
  if (abs < 0.01) return `${sign}$${trimZeros(abs.toPrecision(2))}`;
  if (abs < 1e4) return `${sign}$${abs.toFixed(2)}`;
  return `${sign}$${formatNumber(abs)}`;
}

/** A value with its unit: the formatter of every chart axis, legend, tile and table cell. */
export function formatUnit(v: number | null | undefined, unit: Unit = ""): string {
  if (v === null || v === undefined || Number.isNaN(v)) return DASH;
  switch (unit) {
    case "percent":
      return `${formatNumber(v)}%`;
    case "ratio":
      return `${formatNumber(v * 100)}%`;
    case "seconds":
      return formatSeconds(v);
    case "rate":
      return `${formatNumber(v)}/s`;
    case "usd":
      return formatUsd(v);
    case "usd/h":
      return `${formatUsd(v)}/h`;
    case "tokens/s":
      return `${formatNumber(v)} tok/s`;
    default:
      return formatNumber(v);
  }
}

/** Formatters by unit, for props that take a function. */
export const fmt = {
  rate: (v: number | null | undefined) => formatUnit(v, "rate"),
  /** a 0–1 ratio as a percentage */
  percent: (v: number | null | undefined) => formatUnit(v, "ratio"),
  /** a value already in 0–100 */
  percentValue: (v: number | null | undefined) => formatUnit(v, "percent"),
  seconds: (v: number | null | undefined) => formatUnit(v, "seconds"),
  count: (v: number | null | undefined) => formatUnit(v, "count"),
  usd: (v: number | null | undefined) => formatUnit(v, "usd"),
};

/** A change between two windows, or why there is none to show. The server says whether data
 * reaches back to the start of the previous window (`history`); when it does not (a fresh
 * install, a new tenant), the previous window is only partly filled and any percentage is
 * meaningless ("+3254 %"), so the tile says "not enough history" instead; likewise with no
 * previous figure at all. */
export function describeChange(
  value: number | null | undefined,
  previous: number | null | undefined,
  history = true,
): { kind: "change"; text: string; percent: number } | { kind: "none"; text: string } {
  if (value === null || value === undefined) return { kind: "none", text: "no data" };
  if (!history) return { kind: "none", text: "not enough history" };
  if (previous === null || previous === undefined || previous === 0) {
    return value === 0 && previous === 0
      ? { kind: "change", text: "0%", percent: 0 }
      : { kind: "none", text: "not enough history" };
  }
  const percent = (100 * (value - previous)) / Math.abs(previous);
  const text = `${percent > 0 ? "+" : ""}${Math.abs(percent) < 10 ? percent.toFixed(1) : Math.round(percent)}%`;
  return { kind: "change", text, percent };
}
