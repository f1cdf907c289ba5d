import { useQuery } from "@tanstack/react-query";
import { useState, type SyntheticEvent, type ReactNode } from "react";
import { Navigate, useLocation, useNavigate } from "react-router";
import { errorMessage } from "../api/problem";
import { infoQuery } from "../api/identity";
import { useAuth } from "../auth/session";
import { BrandMark, Icon } from "../components/Icon";
import { Banner, Loading, Spinner } from "../components/ui";
import { useDocumentTitle } from "../lib/useDocumentTitle";
import { useTheme } from "../theme/theme";

interface FromState {
  from?: string;
  reason?: "expired" | "logged-out";
}

function ThemeFlip(): ReactNode {
  const { effective, setChoice } = useTheme();
  const next = effective === "dark" ? "light" : "dark";
  return (
    <button
      type="button"
      className="icon-btn login-corner"
      aria-label={`Switch to ${next} theme`}
      title={`Switch to ${next} theme`}
      onClick={() => setChoice(next)}
    >
      <Icon name={effective === "dark" ? "sun" : "moon"} />
    </button>
  );
}

export function LoginPage(): ReactNode {
  const { state, login } = useAuth();
  useDocumentTitle("Sign in");
  const location = useLocation();
  const navigate = useNavigate();
  const info = useQuery(infoQuery());
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const from = (location.state as FromState | null)?.from;
  const reason = (location.state as FromState | null)?.reason;
  const target = from && from !== "/login" ? from : "/overview";

  if (state.status === "loading") return <Loading />;
  if (state.status === "authenticated" && !busy) return <Navigate to={target} replace />;

  const submit = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await login(username.trim(), password);
      await navigate(target, { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <div className="login-page">
      <ThemeFlip />
      <div className="card login-card">
        <div className="card-body">
          <div className="login-brand">
            <BrandMark />
            agentdeck
          </div>
          <p className="muted" style={{ marginBottom: 20 }}>
            Operations for your fleet of AI agents. Sign in to continue.
          </p>
          <form className="form" onSubmit={(e) => void submit(e)} aria-label="Sign in">
            {error ? <Banner tone="error">{errorMessage(error)}</Banner> : null}
            {!error && reason === "expired" ? (
              <Banner tone="info">Your session has ended. Sign in again to continue.</Banner>
            ) : null}
            <div className="field">
              <label htmlFor="username">Username or email</label>
              <input
                id="username"
                name="username"
                className="input"
                autoComplete="username"
                autoFocus
                required
                value={username}
                onChange={(e) => setUsername(e.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor="password">Password</label>
              <input
                id="password"
                name="password"
                type="password"
                className="input"
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            </div>
            <button type="submit" className="btn btn-primary" disabled={busy || !username || !password}>
              {busy ? <Spinner label="Signing in" /> : null}
              Sign in
            </button>
          </form>
        </div>
      </div>
      <div className="login-foot" style={{ position: "fixed", bottom: 16, left: 0, right: 0 }}>
        {info.data ? (
          <span data-testid="version">
            agentdeck v{info.data.version}
            {info.data.environment !== "production" ? ` · ${info.data.environment}` : ""}
          </span>
        ) : null}
      </div>
    </div>
  );
}
