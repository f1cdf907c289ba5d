/** Times of log lines as the list shows them. */

/** The line's instant (the wire keeps nanoseconds; Date keeps milliseconds). */
export function lineDate(ts: string): Date {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  if (!m) return new Date(ts);
  const fraction = (m[2] ?? ".000").slice(0, 4).padEnd(4, "0");
  return new Date(`${m[1] ?? ""}${fraction}${m[3] ?? "Z"}`);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** "12-07 14:03:27.412" in local time. */
export function shortTime(ts: string): string {
  const d = lineDate(ts);
  if (Number.isNaN(d.getTime())) return ts;
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
