/** Times of the metrics views in the browser's zone or in UTC (the picker's choice). */

const pad = (n: number): string => String(n).padStart(2, "0");

/** Seconds → "HH:MM:SS" (with the date when it is not today), local or UTC. */
export function formatClock(seconds: number, utc: boolean, now: number = Date.now()): string {
  const d = new Date(seconds * 1000);
  const today = new Date(now);
  const [y, mo, day, h, mi, s] = utc
    ? [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  const sameDay = utc
    ? today.getUTCFullYear() === y && today.getUTCMonth() === mo && today.getUTCDate() === day
    : today.getFullYear() === y && today.getMonth() === mo && today.getDate() === day;
  const clock = `${pad(h)}:${pad(mi)}:${pad(s)}`;
  const text = sameDay ? clock : `${y}-${pad(mo + 1)}-${pad(day)} ${clock}`;
  return utc ? `${text} UTC` : text;
}
