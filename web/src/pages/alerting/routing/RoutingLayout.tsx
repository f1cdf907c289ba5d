/** The notification routing section: silences, inhibition, receivers, tree, escalation. */
import type { ReactNode } from "react";
import { NavLink, Outlet } from "react-router";
import { PageHead } from "../../../components/ui";

export function RoutingLayout(): ReactNode {
  return (
    <>
      <PageHead title="Routing" subtitle="Who is notified about which alerts, when, and what is muted." />
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
