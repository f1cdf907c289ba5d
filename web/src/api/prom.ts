/**
 * The Prometheus-compatible query API (/api/v1/query_range, /series, /label/…/values).
 * Its answers use Prometheus's JSON shapes, not problem+json, so they are fetched here
 * rather than through the generated client; authentication is the same (authFetch).
 */
import { queryOptions } from "@tanstack/react-query";
import { authFetch, serverOrigin } from "./client";
import { ApiError, isProblem } from "./problem";

export type Labels = Record<string, string>;

export interface MatrixSeries {
  metric: Labels;
  values: [number, string][];
}

export interface VectorSample {
  metric: Labels;
  value: [number, string];
}

export type QueryData =
  | { resultType: "matrix"; result: MatrixSeries[] }
  | { resultType: "vector"; result: VectorSample[] }
  | { resultType: "scalar" | "string"; result: [number, string] };

interface PromSuccess<T> {
  status: "success";
  data: T;
  warnings?: string[];
}

interface PromFailure {
  status: "error";
  errorType?: string;
  error?: string;
}

/** An error answer of the query API, with Prometheus's errorType (bad_data, timeout, …). */
export class QueryError extends Error {
  readonly status: number;
  readonly errorType: string;

  constructor(message: string, status: number, errorType: string) {
    super(message);
    this.name = "QueryError";
    this.status = status;
    this.errorType = errorType;
  }
}

async function promGet<T>(path: string, params: URLSearchParams, signal?: AbortSignal): Promise<T> {
  const url = `${serverOrigin()}${path}?${params.toString()}`;
  const response = await authFetch(
    new Request(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal }),
  );
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (body && typeof body === "object" && "status" in body) {
    const b = body as PromSuccess<T> | PromFailure;
    if (b.status === "success" && response.ok) return b.data;
    if (b.status === "error") {
      throw new QueryError(b.error ?? `HTTP ${response.status}`, response.status, b.errorType ?? "error");
    }
  }
  if (isProblem(body)) throw ApiError.from(response.status, body);
  throw new QueryError(`The query API answered HTTP ${response.status}`, response.status, "http");
}

export interface RangeParams {
  query: string;
  start: number; // seconds
  end: number; // seconds
  step: number; // seconds
}

export function queryRange(p: RangeParams, signal?: AbortSignal): Promise<QueryData> {
  const params = new URLSearchParams({
    query: p.query,
    start: String(p.start),
    end: String(p.end),
    step: String(p.step),
  });
  return promGet<QueryData>("/api/v1/query_range", params, signal);
}

export function labelValues(
  name: string,
  opts: { match?: string[]; start?: number; end?: number } = {},
  signal?: AbortSignal,
): Promise<string[]> {
  const params = new URLSearchParams();
  for (const m of opts.match ?? []) params.append("match[]", m);
  if (opts.start !== undefined) params.set("start", String(opts.start));
  if (opts.end !== undefined) params.set("end", String(opts.end));
  return promGet<string[]>(`/api/v1/label/${encodeURIComponent(name)}/values`, params, signal);
}

export function series(
  match: string[],
  opts: { start?: number; end?: number } = {},
  signal?: AbortSignal,
): Promise<Labels[]> {
  const params = new URLSearchParams();
  for (const m of match) params.append("match[]", m);
  if (opts.start !== undefined) params.set("start", String(opts.start));
  if (opts.end !== undefined) params.set("end", String(opts.end));
  return promGet<Labels[]>("/api/v1/series", params, signal);
}

/** `name{a="b", c="d"}` for a series (the metric name first, then the labels). */
export function seriesName(metric: Labels): string {
  const { __name__: name = "", ...rest } = metric;
  const labels = Object.entries(rest)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join(", ");
  if (!labels) return name || "{}";
  return `${name}{${labels}}`;
}

/** Quote a label value as a PromQL string literal. */
export function quoteLabel(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

export function labelNames(
  opts: { match?: string[]; start?: number; end?: number } = {},
  signal?: AbortSignal,
): Promise<string[]> {
  const params = new URLSearchParams();
  for (const m of opts.match ?? []) params.append("match[]", m);
  if (opts.start !== undefined) params.set("start", String(opts.start));
  if (opts.end !== undefined) params.set("end", String(opts.end));
  return promGet<string[]>("/api/v1/labels", params, signal);
}

/** Matrix (or vector) results as chart series, labelled by their series name. */
export function toChartSeries(data: QueryData): { label: string; metric: Labels; points: [number, number | null][] }[] {
  if (data.resultType === "matrix") {
    return data.result.map((s) => ({
      label: seriesName(s.metric),
      metric: s.metric,
      points: s.values.map(([t, v]) => [t, parseSampleValue(v)]),
    }));
  }
  if (data.resultType === "vector") {
    return data.result.map((s) => ({
      label: seriesName(s.metric),
      metric: s.metric,
      points: [[s.value[0], parseSampleValue(s.value[1])]],
    }));
  }
  return [{ label: "scalar", metric: {}, points: [[data.result[0], parseSampleValue(data.result[1])]] }];
}

export function parseSampleValue(v: string): number | null {
  const n = Number(v);
  return Number.isFinite(n) ? n : v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : null;
}

/** Query keys of the Prometheus API's lookups. */
export const promKeys = {
  metricNames: ["prom", "metric-names"] as const,
};

/** Every metric name the store knows (the label values of `__name__`). */
export function metricNamesQuery() {
  return queryOptions({
    queryKey: promKeys.metricNames,
    queryFn: ({ signal }) => labelValues("__name__", {}, signal),
    staleTime: 60_000,
  });
}
