/** Links between log lines and their templates. */
import { logsHref } from "./logsUrl";
import { quote } from "./logql";

/** The Templates page's view of one template. */
export function templateHref(id: number): string {
  return `/templates/${id}`;
}

/** The log query matching the lines of a template: its own id and the ids merged into it. */
export function templateQueryText(id: number, mergedIds: readonly number[] = []): string {
  const ids = [id, ...mergedIds.filter((m) => m !== id)];
  return ids.length === 1 ? `{template=${quote(String(id))}}` : `{template=~${quote(ids.join("|"))}}`;
}

/** The Logs page showing the lines of a template. */
export function templateLogsHref(id: number, mergedIds: readonly number[] = []): string {
  return logsHref({ query: templateQueryText(id, mergedIds), range: { kind: "relative", range: "7d" } });
}

/** `rising` as shown: "×3.2" above 1, "—" otherwise. */
export function risingText(rising: number): string {
  return rising > 1.05 ? `×${rising >= 10 ? rising.toFixed(0) : rising.toFixed(1)}` : "—";
}
