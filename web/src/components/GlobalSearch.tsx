/**
 * Search everything from anywhere: agents, open alerts and alert rules, opened with "/" or
 * Ctrl-K (⌘K). Arrow keys move through the results, Enter opens one, Escape closes.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useNavigate } from "react-router";
import { agentSearchQuery, openAlertsQuery, ruleSearchQuery, SEARCH_LIMIT } from "../api/search";
import { useDebounced } from "../lib/useDebounced";
import { Icon } from "./Icon";
import { Spinner } from "./ui";

interface Hit {
  kind: "Agent" | "Alert" | "Rule";
  title: string;
  detail: string;
  to: string;
}

function typingInField(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

function useHits(q: string): { hits: Hit[]; pending: boolean } {
  const enabled = q.length > 0;
  const agents = useQuery(agentSearchQuery(q));
  const rules = useQuery(ruleSearchQuery(q));
  // Open alerts are few: fetched once, matched here on rule, agent and summary.
  const alerts = useQuery(openAlertsQuery(enabled));
  const hits = useMemo(() => {
    const needle = q.toLowerCase();
    const out: Hit[] = [];
    for (const a of agents.data?.items ?? []) {
      out.push({ kind: "Agent", title: a.name, detail: `${a.type} · ${a.status}`, to: `/agents/${a.id}` });
    }
    const openAlerts = (alerts.data?.items ?? []).filter((a) =>
      [a.rule_name, a.labels.agent ?? "", a.annotations.summary ?? ""].some((t) => t.toLowerCase().includes(needle)),
    );
    for (const a of openAlerts.slice(0, SEARCH_LIMIT)) {
      out.push({
        kind: "Alert",
        title: a.rule_name,
        detail: `${a.severity} · ${a.status}${a.labels.agent ? ` · ${a.labels.agent}` : ""}`,
        to: `/alerts/${a.id}`,
      });
    }
    for (const r of rules.data?.items ?? []) {
      out.push({ kind: "Rule", title: r.name, detail: r.expr, to: `/alerting/rules/${r.id}` });
    }
    return out;
  }, [agents.data, alerts.data, rules.data, q]);
  return { hits, pending: enabled && (agents.isFetching || rules.isFetching || alerts.isFetching) };
}

export function GlobalSearch(): ReactNode {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState("");
  const [active, setActive] = useState(0);
  const dialog = useRef<HTMLDialogElement>(null);
  const navigate = useNavigate();
  const q = useDebounced(text.trim(), 150);
  const { hits, pending } = useHits(open ? q : "");

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const ctrlK = (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k";
      const slash = e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey && !typingInField(e.target);
      if (ctrlK || slash) {
        e.preventDefault();
        setOpen(true);
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);

  const close = (): void => {
    setOpen(false);
    setText("");
    setActive(0);
  };
  const go = (hit: Hit | undefined): void => {
    if (!hit) return;
    close();
    void navigate(hit.to);
  };

  return (
    <>
      <button type="button" className="btn btn-sm global-search-button" onClick={() => setOpen(true)}>
        <Icon name="search" /> Search <kbd>/</kbd>
      </button>
      <dialog ref={dialog} className="dialog global-search" aria-label="Search" onClose={close}>
        {open ? (
          <div className="global-search-body">
            <div className="global-search-input">
              <Icon name="search" />
              <input
                className="input"
                autoFocus
                role="combobox"
                aria-expanded={hits.length > 0}
                aria-controls="global-search-results"
                aria-label="Search agents, alerts and rules"
                placeholder="Search agents, alerts and rules"
                value={text}
                onChange={(e) => {
                  setText(e.target.value);
                  setActive(0);
                }}
                onKeyDown={(e) => {
                  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
                    e.preventDefault();
                    const n = Math.max(hits.length, 1);
                    setActive((i) => (i + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
                  } else if (e.key === "Enter") {
                    e.preventDefault();
                    go(hits[active]);
                  }
                }}
              />
              {pending ? <Spinner label="Searching" /> : null}
            </div>
            <ul className="global-search-results" id="global-search-results" role="listbox" aria-label="Results">
              {hits.map((hit, i) => (
                <li
                  key={`${hit.kind}-${hit.to}`}
                  role="option"
                  aria-selected={i === active}
                  onMouseEnter={() => setActive(i)}
                  onMouseDown={(e) => {
                    e.preventDefault();
                    go(hit);
                  }}
                >
                  <span className="badge badge-muted">{hit.kind}</span>
                  <span className="global-search-title">{hit.title}</span>
                  <span className="faint small global-search-detail">{hit.detail}</span>
                </li>
              ))}
              {q && !pending && hits.length === 0 ? <li className="faint">Nothing matches “{q}”</li> : null}
              {!q ? <li className="faint small">Type a name: agents, open alerts and rules are searched.</li> : null}
            </ul>
          </div>
        ) : null}
      </dialog>
    </>
  );
}
