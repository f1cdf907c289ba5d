/** The routing tree as a form: per route its matchers, receiver and escalation (pickers by
 * name), grouping, timings as durations ("30s", "5m") and `continue`; child routes nest. */
import type { ReactNode } from "react";
import { Icon } from "../../../components/Icon";
import { Field } from "../../../components/ui";
import type { EscalationPolicy, Receiver } from "../../../api/routing";
import { formatDuration, parseDuration } from "../rules/ruleForm";
import { TIMINGS, type RouteDraft } from "./routeTimings";
import { MatcherEditor } from "./MatcherEditor";


export function RouteEditor({
  node,
  path,
  receivers,
  escalations,
  texts,
  onText,
  onChange,
  onRemove,
}: {
  node: RouteDraft;
  path: string;
  receivers: Receiver[];
  escalations: EscalationPolicy[];
  /** Timing fields as typed, by `${path}.${field}`. */
  texts: Record<string, string>;
  onText: (key: string, text: string) => void;
  onChange: (next: RouteDraft) => void;
  onRemove?: () => void;
}): ReactNode {
  const root = path === "root";
  const set = (patch: Partial<RouteDraft>): void => onChange({ ...node, ...patch });
  const children = node.routes ?? [];
  const label = root ? "Root route" : `Route ${path.replace(/^root\./, "")}`;
  return (
    <div className="route-edit" role="group" aria-label={label} data-route-edit={path}>
      <div className="route-edit-head">
        <strong className="grow">{label}</strong>
        {root ? <span className="small muted">every alert enters here</span> : null}
        {onRemove ? (
          <button type="button" className="btn btn-sm btn-danger-ghost" onClick={onRemove} aria-label={`Remove ${label}`}>
            <Icon name="trash" /> Remove
          </button>
        ) : null}
      </div>
      {!root ? (
        <MatcherEditor label={`${label} matchers`} value={node.matchers ?? []} onChange={(matchers) => set({ matchers })} />
      ) : null}
      <div className="route-fields">
        <Field label={`${label} receiver`}>
          {(p) => (
            <select {...p} className="select" value={node.receiver_id ?? ""} onChange={(e) => set({ receiver_id: e.target.value || null })}>
              <option value="">{root ? "nobody (no notifications)" : "inherit from parent"}</option>
              {receivers.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name} ({r.channel_ids.length} channel{r.channel_ids.length === 1 ? "" : "s"})
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={`${label} escalation`}>
          {(p) => (
            <select
              {...p}
              className="select"
              value={node.escalation_policy_id ?? ""}
              onChange={(e) => set({ escalation_policy_id: e.target.value || null })}
            >
              <option value="">{root ? "none" : "inherit from parent"}</option>
              {escalations.map((policy) => (
                <option key={policy.id} value={policy.id}>
                  {policy.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={`${label} group by`} hint={root ? "Label names, comma-separated; empty: one group for every alert." : "Label names, comma-separated; empty: inherit."}>
          {(p) => (
            <input
              {...p}
              className="input mono"
              value={node.group_by?.join(", ") ?? ""}
              onChange={(e) => {
                const names = e.target.value.split(",").map((s) => s.trim()).filter(Boolean);
                set({ group_by: e.target.value.trim() ? names : null });
              }}
            />
          )}
        </Field>
        {TIMINGS.map(([key, name]) => {
          const id = `${path}.${key}`;
          const seconds = node[key];
          const text = texts[id] ?? (seconds != null ? formatDuration(seconds) : "");
          const bad = text.trim() !== "" && parseDuration(text) === null;
          return (
            <Field key={key} label={`${label} ${name.toLowerCase()}`} error={bad ? "Use a duration such as 30s, 5m or 4h." : undefined} hint={root ? "Empty: the default." : "Empty: inherit."}>
              {(p) => (
                <input
                  {...p}
                  className="input"
                  value={text}
                  placeholder={root ? "default" : "inherit"}
                  onChange={(e) => {
                    onText(id, e.target.value);
                    const parsed = parseDuration(e.target.value);
                    if (e.target.value.trim() === "") set({ [key]: null });
                    else if (parsed !== null) set({ [key]: parsed });
                  }}
                />
              )}
            </Field>
          );
        })}
      </div>
      {!root ? (
        <label className="check-row">
          <input type="checkbox" checked={node.continue} onChange={(e) => set({ continue: e.target.checked })} />
          Continue to the next sibling route after matching
        </label>
      ) : null}
      {children.length > 0 ? (
        <div className="route-children">
          {children.map((child, i) => (
            <RouteEditor
              key={i}
              node={child}
              path={`${path}.${i}`}
              receivers={receivers}
              escalations={escalations}
              texts={texts}
              onText={onText}
              onChange={(next) => set({ routes: children.map((c, j) => (j === i ? next : c)) })}
              onRemove={() => set({ routes: children.filter((_, j) => j !== i) })}
            />
          ))}
        </div>
      ) : null}
      <div>
        <button
          type="button"
          className="btn btn-sm"
          onClick={() => set({ routes: [...children, { matchers: [{ name: "severity", op: "=", value: "critical" }], continue: false }] })}
        >
          <Icon name="plus" /> Add child route{root ? "" : ` under ${label.toLowerCase()}`}
        </button>
      </div>
    </div>
  );
}
