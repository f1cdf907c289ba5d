/**
 * The live tail's buffer: lines from the `logs` channel go on top of the list (newest first)
 * while the reader is at the top; once they scroll away the list holds still and new lines wait
 * (counted, "N new lines — resume"). A frame with `dropped` leaves a marker where lines are
 * missing. Both buffers are bounded; lines trimmed from the view are counted.
 */
import type { LogLine } from "../api/logs";

export type LogRow =
  | { kind: "line"; key: string; line: LogLine; live: boolean }
  | { kind: "marker"; key: string; text: string };

export interface TailState {
  /** Shown above the search results, newest first. */
  shown: LogRow[];
  /** Arrived while paused, newest first. */
  pending: LogRow[];
  pendingLines: number;
  /** Lines trimmed from the live view (beyond the cap). */
  trimmed: number;
  ids: ReadonlySet<string>;
  markers: number;
}

export const EMPTY_TAIL: TailState = { shown: [], pending: [], pendingLines: 0, trimmed: 0, ids: new Set(), markers: 0 };

/** At most this many rows are kept from the tail (shown and pending each). */
export const TAIL_CAP = 5000;

function plural(n: number, one: string): string {
  return `${n.toLocaleString("en")} ${one}${n === 1 ? "" : "s"}`;
}

/** Fold one frame (lines oldest first) in; `paused` keeps them aside. */
export function receive(
  state: TailState,
  frame: { lines: LogLine[]; dropped: number },
  paused: boolean,
  cap = TAIL_CAP,
): TailState {
  const ids = new Set(state.ids);
  const fresh: LogRow[] = [];
  for (let i = frame.lines.length - 1; i >= 0; i -= 1) {
    const line = frame.lines[i];
    if (!line || ids.has(line.id)) continue;
    ids.add(line.id);
    fresh.push({ kind: "line", key: line.id, line, live: true });
  }
  let markers = state.markers;
  if (frame.dropped > 0) {
    markers += 1;
    fresh.push({
      kind: "marker",
      key: `dropped-${markers}`,
      text: `${plural(frame.dropped, "line")} dropped here: they came faster than this page read them. Search the range to see them.`,
    });
  }
  if (fresh.length === 0) return state;
  const lines = fresh.filter((r) => r.kind === "line").length;
  if (paused) {
    const pending = [...fresh, ...state.pending];
    const over = Math.max(0, pending.length - cap);
    return {
      ...state,
      ids,
      markers,
      pending: over ? pending.slice(0, cap) : pending,
      pendingLines: state.pendingLines + lines,
      trimmed: state.trimmed + over,
    };
  }
  return trim({ ...state, ids, markers, shown: [...fresh, ...state.shown] }, cap);
}

function trim(state: TailState, cap: number): TailState {
  const over = state.shown.length - cap;
  if (over <= 0) return state;
  return { ...state, shown: state.shown.slice(0, cap), trimmed: state.trimmed + over };
}

/** Back at the top: what waited goes on top of the list. */
export function resume(state: TailState, cap = TAIL_CAP): TailState {
  if (state.pending.length === 0) return state;
  return trim({ ...state, shown: [...state.pending, ...state.shown], pending: [], pendingLines: 0 }, cap);
}

/**
 * The list to show: tail rows, then a marker for trimmed lines, then the search results (a line
 * the tail already brought is not repeated).
 */
export function listRows(state: TailState, searched: readonly LogLine[]): LogRow[] {
  const rows: LogRow[] = [...state.shown];
  if (state.trimmed > 0) {
    rows.push({
      kind: "marker",
      key: "trimmed",
      text: `${plural(state.trimmed, "live line")} no longer shown here (the view keeps the newest ${TAIL_CAP.toLocaleString("en")}). Refresh to search the whole range.`,
    });
  }
  for (const line of searched) {
    if (!state.ids.has(line.id)) rows.push({ kind: "line", key: line.id, line, live: false });
  }
  return rows;
}
