/**
 * The call graph on Cytoscape.js (canvas): agents as round nodes, external services as
 * squares, coloured by health; edges labelled with calls per second. Nodes with calls are laid
 * out in layers by dagre (callers left of callees), nodes without calls in a grid below, both
 * in name order: the same graph gets the same picture on every load. Labels keep a legible
 * size (the view pans rather than shrinking past it); a search focuses a node and its
 * neighbours, and health toggles hide nodes of that health.
 */
import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useNavigate } from "react-router";
import { fmt } from "../../lib/format";
import { useThemeVersion } from "../../lib/useThemeVersion";
import type { Topology } from "../../api/overview";

cytoscape.use(dagre);

const HEALTH_COLOUR: Record<string, string> = {
  healthy: "#1a7f37",
  degraded: "#d29922",
  unhealthy: "#c62828",
  unknown: "#8c959f",
};
const HEALTHS = ["healthy", "degraded", "unhealthy", "unknown"] as const;
const FONT_PX = 12;
/** The view never zooms out past this (labels stay at least FONT_PX × MIN_ZOOM px). */
const MIN_ZOOM = 0.85;
const NODE = 22;
const MIN_HEIGHT = 320;
const MAX_HEIGHT = 1600;
const EDGE_LABELS_UP_TO = 16;

function topologyElements(topology: Topology): cytoscape.ElementDefinition[] {
  const byName = [...topology.nodes].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const nodes = byName.map((n) => ({
    data: {
      id: n.id,
      label: n.name,
      kind: n.kind,
      health: n.health,
      agentId: n.agent_id ?? "",
      colour: HEALTH_COLOUR[n.health] ?? HEALTH_COLOUR.unknown,
    },
  }));
  const edges = [...topology.edges]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((e) => ({
      data: {
        id: e.id,
        source: e.source,
        target: e.target,
        label: e.request_rate === null ? "" : fmt.rate(e.request_rate),
        colour: HEALTH_COLOUR[e.health] ?? HEALTH_COLOUR.unknown,
        declaredOnly: e.sources.length === 1 && e.sources[0] === "declared" ? 1 : 0,
      },
    }));
  return [...nodes, ...edges];
}

/** Connected nodes in dagre layers, the rest in a name-ordered grid under them. */
function layOut(cy: cytoscape.Core, width: number): void {
  const linked = cy.nodes().filter((n) => n.degree(false) > 0);
  const alone = cy.nodes().filter((n) => n.degree(false) === 0);
  let top = 0;
  let left = 0;
  let span = Math.max(width, 600);
  if (linked.nonempty()) {
    linked
      .union(linked.connectedEdges())
      .layout({ name: "dagre", rankDir: "LR", nodeSep: 36, rankSep: 160, fit: false, animate: false } as cytoscape.LayoutOptions)
      .run();
    const bb = linked.boundingBox({});
    top = bb.y2 + 70;
    left = bb.x1;
    span = Math.max(bb.w, span);
  }
  if (alone.nonempty()) {
    const cols = Math.max(1, Math.floor(span / 150));
    alone.forEach((n, i) => {
      n.position({ x: left + (i % cols) * 150, y: top + Math.floor(i / cols) * 64 });
    });
  }
}

/** The graph's style, coloured from the holder's CSS (read again when the theme changes):
 * labels in the text colour with a halo of the card's background, so they stay readable where
 * edges cross them, in either theme. */
function graphStyle(el: HTMLElement): cytoscape.StylesheetJson {
  const css = getComputedStyle(el);
  const text = css.color;
  let halo = "rgba(0, 0, 0, 0)";
  for (let node: HTMLElement | null = el; node && halo === "rgba(0, 0, 0, 0)"; node = node.parentElement) {
    halo = getComputedStyle(node).backgroundColor;
  }
  return [
    {
      selector: "node",
      style: {
        "background-color": "data(colour)",
        label: "data(label)",
        color: text,
        "font-size": FONT_PX,
        "text-valign": "bottom",
        "text-margin-y": 4,
        "text-wrap": "ellipsis",
        "text-max-width": "160px",
        "text-outline-color": halo,
        "text-outline-width": 3,
        "text-outline-opacity": 0.9,
        width: NODE,
        height: NODE,
      },
    },
    { selector: 'node[kind = "service"]', style: { shape: "round-rectangle", width: 26, height: 18 } },
    {
      selector: "edge",
      style: {
        width: 1.5,
        "line-color": "data(colour)",
        "target-arrow-color": "data(colour)",
        "target-arrow-shape": "triangle",
        "curve-style": "bezier",
        label: "data(label)",
        "font-size": 10,
        color: text,
        "text-outline-color": halo,
        "text-outline-width": 2,
      },
    },
    { selector: "edge[declaredOnly = 1]", style: { "line-style": "dashed" } },
    { selector: "edge.quiet", style: { label: "" } },
    { selector: ".faded", style: { opacity: 0.18 } },
    { selector: ".hidden", style: { display: "none" } },
    { selector: "node.found", style: { "border-width": 3, "border-color": text, "font-weight": "bold" } },
  ];
}

export function TopologyGraph({ topology }: { topology: Topology }): ReactNode {
  const holder = useRef<HTMLDivElement>(null);
  const graph = useRef<cytoscape.Core | null>(null);
  const navigate = useNavigate();
  const [search, setSearch] = useState("");
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const [found, setFound] = useState<string | null>(null);
  const elements = useMemo(() => topologyElements(topology), [topology]);
  const shape = useMemo(
    () => topology.nodes.map((n) => n.id).join("|") + "#" + topology.edges.map((e) => e.id).join("|"),
    [topology],
  );
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const n of topology.nodes) c[n.health] = (c[n.health] ?? 0) + 1;
    return c;
  }, [topology]);

  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const cy = cytoscape({
      container: el,
      elements,
      minZoom: 0.3,
      maxZoom: 2,
      wheelSensitivity: 0.3,
      style: graphStyle(el),
      layout: { name: "preset" },
    });
    layOut(cy, el.clientWidth);
    // Fit the width, but never so small that labels become unreadable; the box grows to the
    // graph's height (up to a limit, then the view pans).
    const bb = cy.elements().boundingBox({});
    const zoom = Math.min(1.3, Math.max(MIN_ZOOM, (el.clientWidth - 60) / Math.max(bb.w, 1)));
    el.style.height = `${Math.round(Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, bb.h * zoom + 60)))}px`;
    cy.resize();
    cy.zoom(zoom);
    const left = Math.max(30, (el.clientWidth - bb.w * zoom) / 2);
    cy.pan({ x: left - bb.x1 * zoom, y: 30 - bb.y1 * zoom });
    // Many calls: rates show on hover, not as a heap of overlapping labels.
    if (cy.edges().length > EDGE_LABELS_UP_TO) {
      cy.edges().addClass("quiet");
      cy.on("mouseover", "edge", (e) => (e.target as cytoscape.EdgeSingular).removeClass("quiet"));
      cy.on("mouseout", "edge", (e) => (e.target as cytoscape.EdgeSingular).addClass("quiet"));
    }
    el.dataset.zoom = cy.zoom().toFixed(3);
    el.dataset.positions = cy
      .nodes()
      .map((n) => `${String(n.data("label"))}:${Math.round(n.position("x"))},${Math.round(n.position("y"))}`)
      .join(";");
    cy.on("tap", "node", (event) => {
      const id = (event.target as cytoscape.NodeSingular).data("agentId") as string;
      if (id) void navigate(`/agents/${id}`);
    });
    cy.on("zoom", () => {
      el.dataset.zoom = cy.zoom().toFixed(3);
    });
    graph.current = cy;
    return () => {
      cy.destroy();
      graph.current = null;
    };
    // a new set of nodes or edges lays the graph out again; figures only restyle it (below)
  }, [shape]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    const cy = graph.current;
    if (!cy) return;
    cy.batch(() => {
      for (const element of elements) {
        const existing = cy.getElementById(element.data.id ?? "");
        if (existing.nonempty()) existing.data(element.data);
      }
    });
  }, [elements]);

  // A new theme restyles the canvas (it cannot follow CSS variables by itself).
  const theme = useThemeVersion();
  useEffect(() => {
    const cy = graph.current;
    if (cy && holder.current && theme > 0) cy.style(graphStyle(holder.current));
  }, [theme]);

  // Health filter and search focus.
  useEffect(() => {
    const cy = graph.current;
    if (!cy) return;
    cy.batch(() => {
      cy.nodes().forEach((n) => {
        if (hidden.has(String(n.data("health")))) n.addClass("hidden");
        else n.removeClass("hidden");
      });
      cy.elements().removeClass("faded found");
      if (found) {
        const node = cy.getElementById(found);
        if (node.nonempty()) {
          const near = node.closedNeighborhood();
          cy.elements().not(near).addClass("faded");
          node.addClass("found");
        }
      }
    });
    if (found) {
      const node = cy.getElementById(found);
      if (node.nonempty()) {
        cy.zoom(Math.max(cy.zoom(), 1));
        cy.center(node);
      }
    }
    if (holder.current) {
      holder.current.dataset.found = found ?? "";
      holder.current.dataset.visible = String(cy.nodes().not(".hidden").length);
    }
  }, [hidden, found, shape]);

  const needle = search.trim().toLowerCase();
  const matches = needle ? topology.nodes.filter((n) => n.name.toLowerCase().includes(needle)) : [];
  const focus = (): void => {
    const first = [...matches].sort((a, b) => a.name.localeCompare(b.name))[0];
    setFound(first ? first.id : null);
  };

  if (topology.nodes.length === 0) {
    return (
      <div className="chart-empty" style={{ height: 200 }}>
        No agents or calls yet
      </div>
    );
  }
  return (
    <div className="ov-topology-wrap">
      <div className="row ov-topology-tools">
        <input
          className="input input-sm"
          type="search"
          list="topology-nodes"
          placeholder="Find a node"
          aria-label="Find a node"
          value={search}
          onChange={(e) => {
            setSearch(e.target.value);
            if (!e.target.value) setFound(null);
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter") focus();
            if (e.key === "Escape") {
              setSearch("");
              setFound(null);
            }
          }}
        />
        <datalist id="topology-nodes">
          {topology.nodes.map((n) => (
            <option key={n.id} value={n.name} />
          ))}
        </datalist>
        <button type="button" className="btn btn-sm" onClick={focus} disabled={matches.length === 0}>
          Focus
        </button>
        {found ? (
          <button
            type="button"
            className="btn btn-sm"
            onClick={() => {
              setFound(null);
              setSearch("");
              graph.current?.fit(undefined, 30);
            }}
          >
            Clear
          </button>
        ) : null}
        <span className="spacer" />
        <div className="seg" role="group" aria-label="Show health">
          {HEALTHS.map((h) => (
            <button
              key={h}
              type="button"
              aria-pressed={!hidden.has(h)}
              onClick={() =>
                setHidden((prev) => {
                  const next = new Set(prev);
                  if (next.has(h)) next.delete(h);
                  else next.add(h);
                  return next;
                })
              }
            >
              <span className="ov-health-dot" style={{ background: HEALTH_COLOUR[h] }} aria-hidden="true" /> {h}{" "}
              <span className="faint">{counts[h] ?? 0}</span>
            </button>
          ))}
        </div>
      </div>
      <div
        className="ov-topology"
        ref={holder}
        style={{ height: MIN_HEIGHT }}
        role="img"
        aria-label={`Call graph: ${topology.nodes.length} nodes, ${topology.edges.length} calls`}
        data-testid="topology"
      />
    </div>
  );
}
