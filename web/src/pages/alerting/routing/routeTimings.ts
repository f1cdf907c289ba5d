/** The routing tree's timing fields and which of them, as typed, are not durations. */
import type { RoutingTreeInput } from "../../../api/routing";
import { parseDuration } from "../rules/ruleForm";

export type RouteDraft = RoutingTreeInput;
type Timing = "group_wait_seconds" | "group_interval_seconds" | "repeat_interval_seconds";
export const TIMINGS: [Timing, string][] = [
  ["group_wait_seconds", "Group wait"],
  ["group_interval_seconds", "Group interval"],
  ["repeat_interval_seconds", "Repeat interval"],
];

/** Durations that do not parse, by route path and timing (shown inline, block saving). */
export function timingErrors(node: RouteDraft, texts: Record<string, string>, path = "root"): string[] {
  const bad = TIMINGS.filter(([key]) => {
    const text = texts[`${path}.${key}`];
    return text !== undefined && text.trim() !== "" && parseDuration(text) === null;
  }).map(([key]) => `${path}.${key}`);
  return [...bad, ...(node.routes ?? []).flatMap((child, i) => timingErrors(child, texts, `${path}.${i}`))];
}

