/** The tab bar of the alerting section: alerts, rules, muting and routing, channels, deliveries. */
import type { ReactNode } from "react";
import { NavLink, Outlet, useLocation } from "react-router";

/** Paths of the routing pages (RoutingLayout), one tab for all of them. */
const ROUTING_PAGES = ["silences", "inhibition", "routing", "receivers", "escalation"];

export function AlertingTabs(): ReactNode {
  const { pathname } = useLocation();
  const inRouting = ROUTING_PAGES.some((page) => pathname.startsWith(`/alerting/${page}`));
  return (
    <nav className="subnav alerting-tabs" aria-label="Alerting" style={{ flexDirection: "row", position: "static", marginBottom: 12 }}>
      <NavLink to="/alerts">Alerts</NavLink>
      <NavLink to="/alerting/rules">Rules</NavLink>
      <NavLink to="/alerting/silences" className={() => (inRouting ? "active" : "")}>
        Silences &amp; routing
      </NavLink>
      <NavLink to="/alerting/channels">Channels</NavLink>
      <NavLink to="/alerting/deliveries">Delivery log</NavLink>
    </nav>
  );
}

/** Layout of every alerting page: the tab bar above the page. */
export function AlertingSection(): ReactNode {
  return (
    <>
      <AlertingTabs />
      <Outlet />
    </>
  );
}
