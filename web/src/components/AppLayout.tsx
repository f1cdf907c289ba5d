import { useQuery } from "@tanstack/react-query";
import { useEffect, type ReactNode } from "react";
import { NavLink, Outlet, useLocation } from "react-router";
import { infoQuery } from "../api/identity";
import { useSession } from "../auth/session";
import { BrandMark, Icon, type IconName } from "./Icon";
import { GlobalSearch } from "./GlobalSearch";
import { UserMenu } from "./UserMenu";

// "/metrics" belongs to the server (Prometheus exposition), so the metrics page lives at /explore.
// `also`: other path prefixes that belong to the same section (alert configuration under /alerting).
const NAV: { to: string; label: string; icon: IconName; also?: string }[] = [
  { to: "/overview", label: "Overview", icon: "overview" },
  { to: "/agents", label: "Agents", icon: "agents" },
  { to: "/explore", label: "Metrics", icon: "metrics" },
  { to: "/alerts", label: "Alerts", icon: "alerts", also: "/alerting" },
  { to: "/logs", label: "Logs", icon: "logs" },
  { to: "/templates", label: "Templates", icon: "templates" },
  { to: "/anomalies", label: "Anomalies", icon: "alert" },
  { to: "/log-streams", label: "Log streams", icon: "history" },
  { to: "/deployments", label: "Deployments", icon: "deployments" },
];

export function AppLayout(): ReactNode {
  const session = useSession();
  const info = useQuery(infoQuery());
  const { pathname } = useLocation();
  // A new page opens at its top (a single-page app otherwise keeps the last page's scroll).
  // (braces: newer Chromium returns a promise from scrollTo, which must not become the cleanup)
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [pathname]);
  return (
    <div className="app">
      <aside className="sidebar">
        <div className="sidebar-inner">
        <NavLink to="/overview" className="brand">
          <BrandMark className="brand-mark" />
          <span>agentdeck</span>
        </NavLink>
        <nav className="nav" aria-label="Main">
          <div className="nav-section">Fleet</div>
          {NAV.map((item) => (
            <NavLink
              key={item.to}
              to={item.to}
              className={({ isActive }) => (isActive || (item.also && pathname.startsWith(item.also)) ? "active" : "")}
            >
              <Icon name={item.icon} />
              <span>{item.label}</span>
            </NavLink>
          ))}
          <div className="nav-section">Manage</div>
          <NavLink to="/settings">
            <Icon name="settings" />
            <span>Settings</span>
          </NavLink>
        </nav>
        <div className="sidebar-foot">
          {info.data ? <div>v{info.data.version}</div> : null}
          <a href="/docs" target="_blank" rel="noreferrer">
            API reference
          </a>
        </div>
        </div>
      </aside>
      <div className="main">
        <header className="topbar">
          <span className="tenant">
            Tenant <strong>{session.tenant.name}</strong>
          </span>
          <span className="spacer" />
          <GlobalSearch />
          <UserMenu />
        </header>
        <main className="content">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
