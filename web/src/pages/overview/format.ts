/** Value formats of the overview tiles and table. */
import { formatValue } from "../../lib/chartData";

export const fmt = {
  rate: (v: number | null | undefined) => (v === null || v === undefined ? "—" : `${formatValue(v)}/s`),
  percent: (v: number | null | undefined) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(2)}%`),
  seconds: (v: number | null | undefined) =>
    v === null || v === undefined ? "—" : v < 1 ? `${(v * 1000).toFixed(0)} ms` : `${v.toFixed(2)} s`,
  count: (v: number | null | undefined) => formatValue(v),
  usd: (v: number | null | undefined) => (v === null || v === undefined ? "—" : `$${v.toFixed(2)}`),
};
