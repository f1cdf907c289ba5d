import type { ReactNode } from "react";
import { NavLink, Outlet } from "react-router";
import { useCan } from "../../auth/session";
import { PageHead } from "../../components/ui";

export function SettingsLayout(): ReactNode {
  const isAdmin = useCan("admin");
  return (
    <>
      <PageHead title="Settings" subtitle="Your account and, for admins, this tenant's people, keys and history." />
      <div className="settings">
        <nav className="subnav" aria-label="Settings">
          <NavLink to="/settings/account">Account</NavLink>
          {isAdmin ? (
            <>
              <NavLink to="/settings/users">Users</NavLink>
              <NavLink to="/settings/api-keys">API keys</NavLink>
              <NavLink to="/settings/tenant">Tenant</NavLink>
              <NavLink to="/settings/audit-log">Audit log</NavLink>
            </>
          ) : null}
        </nav>
        <div className="stack">
          <Outlet />
        </div>
      </div>
    </>
  );
}
