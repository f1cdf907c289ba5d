/**
 * The call graph on Cytoscape.js (canvas, built-in layouts): agents as round nodes, external
 * services as squares, coloured by health; edges labelled with calls per second.
 */
import cytoscape from "cytoscape";
import { useEffect, useMemo, useRef, type ReactNode } from "react";
import { useNavigate } from "react-router";
import { formatValue } from "../../lib/chartData";
import type { Topology } from "../../api/overview";

const HEALTH_COLOUR: Record<string, string> = {
  healthy: "#1a7f37",
  degraded: "#d29922",
  unhealthy: "#c62828",
  unknown: "#8c959f",
};

function topologyElements(topology: Topology): cytoscape.ElementDefinition[] {
  const nodes = topology.nodes.map((n) => ({
    data: {
      id: n.id,
      label: n.name,
      kind: n.kind,
      agentId: n.agent_id ?? "",
      colour: HEALTH_COLOUR[n.health] ?? HEALTH_COLOUR.unknown,
    },
  }));
  const edges = topology.edges.map((e) => ({
    data: {
      id: e.id,
      source: e.source,
      target: e.target,
      label: e.request_rate === null ? "" : `${formatValue(e.request_rate)}/s`,
      colour: HEALTH_COLOUR[e.health] ?? HEALTH_COLOUR.unknown,
      declaredOnly: e.sources.length === 1 && e.sources[0] === "declared" ? 1 : 0,
    },
  }));
  return [...nodes, ...edges];
}

export function TopologyGraph({ topology, height = 520 }: { topology: Topology; height?: number }): ReactNode {
  const holder = useRef<HTMLDivElement>(null);
  const graph = useRef<cytoscape.Core | null>(null);
  const navigate = useNavigate();
  const elements = useMemo(() => topologyElements(topology), [topology]);
  const shape = useMemo(
    () => topology.nodes.map((n) => n.id).join("|") + "#" + topology.edges.map((e) => e.id).join("|"),
    [topology],
  );

  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const text = getComputedStyle(el).color;
    const cy = cytoscape({
      container: el,
      elements,
      minZoom: 0.2,
      maxZoom: 1.5,
      wheelSensitivity: 0.3,
      style: [
        {
          selector: "node",
          style: {
            "background-color": "data(colour)",
            label: "data(label)",
            color: text,
            "font-size": 10,
            "text-valign": "bottom",
            "text-margin-y": 4,
            width: 18,
            height: 18,
          },
        },
        { selector: 'node[kind = "service"]', style: { shape: "round-rectangle", width: 22, height: 16 } },
        {
          selector: "edge",
          style: {
            width: 1.5,
            "line-color": "data(colour)",
            "target-arrow-color": "data(colour)",
            "target-arrow-shape": "triangle",
            "curve-style": "bezier",
            label: "data(label)",
            "font-size": 8,
            color: text,
            "text-background-opacity": 0,
          },
        },
        { selector: "edge[declaredOnly = 1]", style: { "line-style": "dashed" } },
      ],
      layout: { name: "cose", animate: false, nodeRepulsion: () => 20000, idealEdgeLength: () => 90, randomize: false },
    });
    cy.on("tap", "node", (event) => {
      const id = (event.target as cytoscape.NodeSingular).data("agentId") as string;
      if (id) void navigate(`/agents/${id}`);
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

  if (topology.nodes.length === 0) {
    return (
      <div className="chart-empty" style={{ height }}>
        No agents or calls yet
      </div>
    );
  }
  return (
    <div
      className="ov-topology"
      ref={holder}
      style={{ height }}
      role="img"
      aria-label={`Call graph: ${topology.nodes.length} nodes, ${topology.edges.length} calls`}
      data-testid="topology"
    />
  );
}
