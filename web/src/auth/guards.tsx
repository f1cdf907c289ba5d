import type { ReactNode } from "react";
import { Navigate, Outlet, useLocation } from "react-router";
import { roleAllows, type Role } from "../api/types";
import { EmptyState, Loading } from "../components/ui";
import { useAuth } from "./session";

/** Renders its routes for a signed-in user; otherwise sends them to /login and back. */
export function RequireAuth(): ReactNode {
  const { state } = useAuth();
  const location = useLocation();
  if (state.status === "loading") return <Loading />;
  if (state.status === "anonymous") {
    const from = location.pathname + location.search;
    return <Navigate to="/login" replace state={{ from, reason: state.reason }} />;
  }
  return <Outlet />;
}

/** Shows its children only to `role` or higher. */
export function RequireRole({ role, children }: { role: Role; children: ReactNode }): ReactNode {
  const { state } = useAuth();
  const allowed = state.status === "authenticated" && roleAllows(state.session.role, role);
  if (allowed) return children;
  return (
    <div className="card">
      <EmptyState icon="key" title={`Only ${role}s can see this`}>
        <p>Ask an administrator of your tenant if you need access.</p>
      </EmptyState>
    </div>
  );
}

