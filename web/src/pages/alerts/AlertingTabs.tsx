/** The tab bar of the alerting pages (each alerting area adds its own tab here). */
import type { ReactNode } from "react";
import { NavLink } from "react-router";

export function AlertingTabs(): ReactNode {
  return (
    <nav className="subnav alerting-tabs" aria-label="Alerting" style={{ flexDirection: "row", position: "static", marginBottom: 12 }}>
      <NavLink to="/alerts" end>
        Alerts
      </NavLink>
      <NavLink to="/alerting/rules">Rules</NavLink>
    </nav>
  );
}
