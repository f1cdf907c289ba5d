/** Log search: pages of lines (cursor), the severity histogram, a line's context, and the label
 * names and values for the query bar's autocomplete. Every call is open to viewers. */
import { infiniteQueryOptions, keepPreviousData, queryOptions } from "@tanstack/react-query";
import { rangeBounds, rangeKey } from "../lib/logsUrl";
import type { TimeRange } from "../lib/timeRange";
import { api, unwrap } from "./client";
import { ApiError } from "./problem";
import type { components } from "./schema";

type Schemas = components["schemas"];
export type LogLine = Schemas["LogLine"];
export type LogSearchPage = Schemas["LogSearchPage"];
export type LogHistogram = Schemas["LogHistogram"];
export type LogContext = Schemas["LogContextPublic"];
export type LogSeverity = LogLine["severity"];

/** Lowest first, as the histogram stacks them. */
export const SEVERITIES: readonly LogSeverity[] = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

/** Lines per page of a search (and per "load older"). */
export const LOG_PAGE = 200;

const all = ["logs"] as const;

/** Query keys: `all` covers every log query. */
export const logKeys = {
  all,
  /** `run` changes when the user asks again (Refresh): a relative range is resolved anew. */
  search: (query: string, range: TimeRange, run: number) => [...all, "search", query, rangeKey(range), run] as const,
  histogram: (query: string, start: string, end: string) => [...all, "histogram", query, start, end] as const,
  context: (id: string, around: number) => [...all, "context", id, around] as const,
  labelNames: (range: string) => [...all, "labels", range] as const,
  labelValues: (name: string, range: string, selector = "") =>
    [...all, "labels", range, name, selector] as const,
};

/** The range and cursor of the page after one (the server pages inside the range it answered). */
export type LogPageParam = { cursor: string; start: string; end: string } | null;

/** Lines matching `query` in `range`, newest first; later pages go back in time. */
export function logSearchQuery(query: string, range: TimeRange, run: number, limit = LOG_PAGE) {
  return infiniteQueryOptions({
    queryKey: logKeys.search(query, range, run),
    initialPageParam: null as LogPageParam,
    getNextPageParam: (page: LogSearchPage): LogPageParam =>
      page.next_cursor ? { cursor: page.next_cursor, start: page.start, end: page.end } : null,
    placeholderData: keepPreviousData,
    // New lines come from Refresh or the live tail: the list does not change under the reader
    // (window focus), but a page opened again searches again.
    staleTime: Infinity,
    refetchOnWindowFocus: false,
    refetchOnMount: "always",
    queryFn: ({ pageParam, signal }) => {
      const [start, end] = pageParam ? [pageParam.start, pageParam.end] : rangeBounds(range, Date.now());
      return unwrap(
        api.GET("/api/v1/logs", {
          params: { query: { query, start, end, limit, cursor: pageParam?.cursor } },
          signal,
        }),
      );
    },
  });
}

/** Counts per severity per bucket over exactly the range a search answered. */
export function logHistogramQuery(query: string, start: string | undefined, end: string | undefined) {
  return queryOptions({
    queryKey: logKeys.histogram(query, start ?? "", end ?? ""),
    enabled: Boolean(start && end),
    placeholderData: keepPreviousData,
    staleTime: Infinity,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/logs/histogram", { params: { query: { query, start, end, step: "auto" } }, signal })),
  });
}

/** `around` lines before and after one line, same service. */
export function logContextQuery(id: string, around: number) {
  return queryOptions({
    queryKey: logKeys.context(id, around),
    enabled: id !== "",
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/logs/{line_id}/context", {
          params: { path: { line_id: id }, query: { before: around, after: around } },
          signal,
        }),
      ),
  });
}

function boundsOf(range: TimeRange): { start: string; end: string } {
  const [start, end] = rangeBounds(range, Date.now());
  return { start, end };
}

/** Field and label names with values in the range (for autocomplete). */
export function logLabelNamesQuery(range: TimeRange) {
  return queryOptions({
    queryKey: logKeys.labelNames(rangeKey(range)),
    staleTime: 30_000,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/logs/labels", { params: { query: boundsOf(range) }, signal })).then((r) => r.names),
  });
}

/** Values of one field or label in the range, on the lines a stream selector such as
 * `{service="api"}` selects (empty: all lines); idle without a name. */
export function logLabelValuesQuery(name: string, range: TimeRange, selector = "") {
  return queryOptions({
    queryKey: logKeys.labelValues(name, rangeKey(range), selector),
    enabled: name !== "",
    staleTime: 30_000,
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/logs/labels/{name}/values", {
          params: { path: { name }, query: { ...boundsOf(range), limit: 200, query: selector } },
          signal,
        }),
      ).then((r) => r.values),
  });
}

/** Where a bad query went wrong (the problem's `position`, 0-based), or null. */
export function queryErrorPosition(error: unknown): number | null {
  if (!(error instanceof ApiError) || error.kind !== "invalid-query") return null;
  const position = (error.problem as unknown as Record<string, unknown>).position;
  return typeof position === "number" && position >= 0 ? position : null;
}

/** One frame of the live tail (`logs` channel): lines oldest first, and how many the server
 * dropped before them because this client read slower than they came. A subscribe with
 * `since` (RFC 3339 or Unix time) gets the lines after it in its snapshot (`more`: older ones
 * were left out), then live frames. */
export interface TailFrame {
  lines: LogLine[];
  dropped: number;
}

export function tailFrame(data: unknown): TailFrame {
  if (typeof data !== "object" || data === null) return { lines: [], dropped: 0 };
  const d = data as { lines?: unknown; dropped?: unknown };
  const lines = Array.isArray(d.lines) ? (d.lines as LogLine[]).filter((l) => typeof l.id === "string") : [];
  return { lines, dropped: typeof d.dropped === "number" ? d.dropped : 0 };
}
