/** The notification routing section: silences, inhibition, receivers, tree, escalation. */
import type { ReactNode } from "react";
import { NavLink, Outlet, useLocation } from "react-router";
import { PageHead } from "../../../components/ui";

const SECTIONS: Record<string, string> = {
  silences: "Silences",
  inhibition: "Inhibition",
  routing: "Routing tree",
  receivers: "Receivers",
  escalation: "Escalation",
};

export function RoutingLayout(): ReactNode {
  const section = SECTIONS[useLocation().pathname.split("/")[2] ?? ""];
  return (
    <>
      <PageHead title="Routing" docTitle={section ? `${section} · Routing` : "Routing"} subtitle="Who is notified about which alerts, when, and what is muted." />
      <div className="settings">
        <nav className="subnav" aria-label="Routing">
          <NavLink to="/alerting/silences">Silences</NavLink>
          <NavLink to="/alerting/inhibition">Inhibition</NavLink>
          <NavLink to="/alerting/routing">Routing tree</NavLink>
          <NavLink to="/alerting/receivers">Receivers</NavLink>
          <NavLink to="/alerting/escalation">Escalation</NavLink>
        </nav>
        <div className="stack">
          <Outlet />
        </div>
      </div>
    </>
  );
}
