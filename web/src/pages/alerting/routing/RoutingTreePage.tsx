/** The routing tree: a tree view of routes, and an editor (a form with pickers, or JSON as the
 * advanced view) saved with If-Match. A success banner lasts until the next edit. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { useCan } from "../../../auth/session";
import { Banner, ErrorBanner, Spinner } from "../../../components/ui";
import {
  escalationQuery,
  policyQuery,
  receiversQuery,
  saveRoutingTree,
  type RouteNode,
  type RoutingTreeInput,
} from "../../../api/routing";
import { spacedSeconds } from "../../../lib/format";
import { FieldErrorList } from "./FieldErrorList";
import { MatcherChips } from "./MatcherEditor";
import { RouteEditor } from "./RouteForm";
import { timingErrors, type RouteDraft } from "./routeTimings";
import "./routing.css";

type EditorMode = "form" | "json";

function RouteView({
  node,
  path,
  names,
}: {
  node: RouteNode;
  path: string;
  names: Map<string, string>;
}): ReactNode {
  const timing = [
    node.group_wait_seconds != null ? `wait ${spacedSeconds(node.group_wait_seconds)}` : null,
    node.group_interval_seconds != null ? `interval ${spacedSeconds(node.group_interval_seconds)}` : null,
    node.repeat_interval_seconds != null ? `repeat ${spacedSeconds(node.repeat_interval_seconds)}` : null,
  ].filter(Boolean);
  return (
    <li className="route-node" data-route={path}>
      <div className="route-box">
        <span className="mono small faint">{path}</span>
        {node.matchers && node.matchers.length > 0 ? <MatcherChips matchers={node.matchers} /> : <span className="chip">every alert</span>}
        <span>→ {node.receiver_id ? <strong>{names.get(node.receiver_id) ?? node.receiver_id}</strong> : <span className="faint">{path === "root" ? "no receiver: nothing is sent" : "inherited receiver"}</span>}</span>
        {node.group_by ? <span className="small">group by {node.group_by.join(", ") || "nothing"}</span> : null}
        {timing.length ? <span className="small muted">{timing.join(" · ")}</span> : null}
        {node.escalation_policy_id ? (
          <span className="badge badge-warn">escalates: {names.get(node.escalation_policy_id) ?? node.escalation_policy_id}</span>
        ) : null}
        {node.continue ? <span className="badge">continue</span> : null}
      </div>
      {node.routes && node.routes.length > 0 ? (
        <ul>
          {node.routes.map((child, i) => (
            <RouteView key={i} node={child} path={`${path}.${i}`} names={names} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

export function RoutingTreePage(): ReactNode {
  const isAdmin = useCan("admin");
  const queryClient = useQueryClient();
  const policy = useQuery(policyQuery());
  const receivers = useQuery(receiversQuery()).data?.items ?? [];
  const escalations = useQuery(escalationQuery()).data?.items ?? [];
  const names = new Map<string, string>([
    ...receivers.map((r): [string, string] => [r.id, r.name]),
    ...escalations.map((p): [string, string] => [p.id, p.name]),
  ]);
  // null: the saved tree; otherwise the user's unsaved edit (the form's tree, or JSON text)
  const [draft, setDraft] = useState<RouteDraft | null>(null);
  const [jsonDraft, setJsonDraft] = useState<string | null>(null);
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [mode, setMode] = useState<EditorMode>("form");
  const [parseError, setParseError] = useState<string>();
  const loaded = policy.data;
  const saved: RouteDraft | null = loaded ? loaded.data.tree : null;
  const tree = draft ?? saved;
  const text = jsonDraft ?? (tree ? JSON.stringify(tree, null, 2) : "");
  const save = useMutation({
    mutationFn: (next: RoutingTreeInput) => saveRoutingTree(next, loaded?.etag ?? null),
    onSuccess: (result) => {
      queryClient.setQueryData(policyQuery().queryKey, result);
      setDraft(null);
      setJsonDraft(null);
      setTexts({});
    },
  });
  const edited = (): void => {
    if (!save.isIdle) save.reset(); // the last save's banner no longer describes the editor
    setParseError(undefined);
  };
  const badTimings = tree && mode === "form" ? timingErrors(tree, texts) : [];
  const parsed = (): RouteDraft | null => {
    try {
      return JSON.parse(text) as RouteDraft;
    } catch (error) {
      setParseError(`Not valid JSON: ${(error as Error).message}`);
      return null;
    }
  };
  const switchTo = (next: EditorMode): void => {
    if (next === mode) return;
    if (next === "form" && jsonDraft !== null) {
      const fromJson = parsed();
      if (!fromJson) return;
      setDraft(fromJson);
      setJsonDraft(null);
    }
    setMode(next);
  };
  const submit = (): void => {
    const next = mode === "json" ? parsed() : tree;
    if (!next || badTimings.length > 0) return;
    setParseError(undefined);
    save.mutate(next);
  };
  if (policy.isPending) return <Spinner />;
  if (policy.isError) return <ErrorBanner error={policy.error} />;
  return (
    <div className="stack">
      <section className="card">
        <div className="card-head">
          <h2>Routing tree</h2>
          <span className="small muted">revision {policy.data.data.revision}</span>
        </div>
        <div className="card-body">
          <p className="small muted">
            Every alert starts at the root; the first matching child wins unless it has <code>continue</code>.
            Unset receivers, grouping and timings inherit from the parent (defaults: wait 30 s, interval 5 min, repeat 4 h).
          </p>
          <ul className="route-tree" aria-label="Routing tree">
            <RouteView node={policy.data.data.tree} path="root" names={names} />
          </ul>
        </div>
      </section>
      {isAdmin && tree ? (
        <section className="card">
          <div className="card-head">
            <h2>Edit the tree</h2>
            <div className="editor-tabs" role="tablist" aria-label="Editor">
              <button type="button" role="tab" className={`btn btn-sm ${mode === "form" ? "btn-primary" : ""}`} aria-selected={mode === "form"} onClick={() => switchTo("form")}>
                Form
              </button>
              <button type="button" role="tab" className={`btn btn-sm ${mode === "json" ? "btn-primary" : ""}`} aria-selected={mode === "json"} onClick={() => switchTo("json")}>
                JSON (advanced)
              </button>
            </div>
          </div>
          <div className="card-body form">
            {save.isError ? (
              <ErrorBanner
                error={save.error}
                onReload={() => {
                  setDraft(null);
                  setJsonDraft(null);
                  void policy.refetch();
                }}
              />
            ) : null}
            {save.isError ? <FieldErrorList error={save.error} /> : null}
            {save.isSuccess ? <Banner tone="success">Saved revision {save.data.data.revision}.</Banner> : null}
            {parseError ? <Banner tone="error">{parseError}</Banner> : null}
            {mode === "form" ? (
              <div className="route-form">
                <RouteEditor
                  node={tree}
                  path="root"
                  receivers={receivers}
                  escalations={escalations}
                  texts={texts}
                  onText={(key, value) => {
                    edited();
                    setTexts((t) => ({ ...t, [key]: value }));
                  }}
                  onChange={(next) => {
                    edited();
                    setDraft(next);
                  }}
                />
              </div>
            ) : (
              <textarea
                className="textarea code"
                aria-label="Routing tree JSON"
                rows={18}
                spellCheck={false}
                value={text}
                onChange={(e) => {
                  edited();
                  setJsonDraft(e.target.value);
                }}
              />
            )}
            <div className="form-actions">
              {draft !== null || jsonDraft !== null ? (
                <button
                  type="button"
                  className="btn"
                  onClick={() => {
                    edited();
                    setDraft(null);
                    setJsonDraft(null);
                    setTexts({});
                  }}
                >
                  Discard changes
                </button>
              ) : null}
              <button type="button" className="btn btn-primary" onClick={submit} disabled={save.isPending || badTimings.length > 0}>
                Save tree
              </button>
            </div>
          </div>
        </section>
      ) : null}
    </div>
  );
}
