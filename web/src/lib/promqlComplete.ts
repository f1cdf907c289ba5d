/** Autocomplete for the PromQL editor: metric names, label names and functions. */

export const PROMQL_FUNCTIONS = [
  "rate", "irate", "increase", "delta", "avg_over_time", "min_over_time", "max_over_time",
  "sum_over_time", "count_over_time", "last_over_time", "quantile_over_time",
  "histogram_quantile", "sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile",
  "abs", "clamp_min", "clamp_max", "round",
];

const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export interface Completion {
  /** The partial word before the caret that a suggestion replaces. */
  prefix: string;
  /** Where that word starts. */
  from: number;
  /** "label" inside braces or a `by (…)` clause, otherwise "metric". */
  context: "metric" | "label";
}

/** What is being typed at `caret`, or null when there is nothing to complete. */
export function completionAt(text: string, caret: number): Completion | null {
  const before = text.slice(0, caret);
  const match = IDENT.exec(before);
  if (!match) return null;
  const prefix = match[0];
  const from = caret - prefix.length;
  const head = before.slice(0, from);
  // Inside a quoted string there is nothing to complete.
  if ((head.match(/(?<!\\)"/g)?.length ?? 0) % 2 === 1) return null;
  const openBrace = head.lastIndexOf("{");
  const closeBrace = head.lastIndexOf("}");
  const inBraces = openBrace > closeBrace;
  const inGrouping = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*$/.test(head);
  return { prefix, from, context: inBraces || inGrouping ? "label" : "metric" };
}

/** Up to `limit` candidates starting with (then containing) the prefix. */
export function suggest(prefix: string, candidates: readonly string[], limit = 8): string[] {
  const p = prefix.toLowerCase();
  const starts = candidates.filter((c) => c.toLowerCase().startsWith(p) && c !== prefix);
  const contains = candidates.filter((c) => !c.toLowerCase().startsWith(p) && c.toLowerCase().includes(p));
  return [...starts, ...contains].slice(0, limit);
}

/** The text with the word at `completion` replaced by `value`, and the new caret. */
export function applyCompletion(text: string, completion: Completion, caret: number, value: string): [string, number] {
  const next = text.slice(0, completion.from) + value + text.slice(caret);
  return [next, completion.from + value.length];
}

/** `metric{a="b",c="d"}` from a metric and label filters (empty values left out). */
export function buildSelector(metric: string, filters: Record<string, string>): string {
  const parts = Object.entries(filters)
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
  return parts.length ? `${metric}{${parts.join(", ")}}` : metric;
}

/** The metric and `label="value"` matchers of a plain selector (what `buildSelector` makes);
 * null for any other PromQL (functions, operators, regex matchers). */
export function parseSelector(query: string): { metric: string; filters: Record<string, string> } | null {
  const match = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$/s.exec(query);
  if (!match) return null;
  const metric = match[1] ?? "";
  const body = (match[2] ?? "").trim();
  const filters: Record<string, string> = {};
  if (body) {
    const matcher = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/gy;
    let consumed = 0;
    for (let m = matcher.exec(body); m; m = matcher.exec(body)) {
      filters[m[1] ?? ""] = (m[2] ?? "").replace(/\\(.)/g, "$1");
      consumed = matcher.lastIndex;
      if (consumed >= body.length) break;
    }
    if (consumed < body.length) return null;
  }
  return { metric, filters };
}
