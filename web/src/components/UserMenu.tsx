import { useEffect, useRef, useState, type ReactNode } from "react";
import { Link } from "react-router";
import { useAuth, useSession } from "../auth/session";
import { initials } from "../lib/format";
import { useTheme, type ThemeChoice } from "../theme/theme";
import { Icon, type IconName } from "./Icon";
import { RoleBadge } from "./ui";

const THEMES: { value: ThemeChoice; label: string; icon: IconName }[] = [
  { value: "light", label: "Light", icon: "sun" },
  { value: "dark", label: "Dark", icon: "moon" },
  { value: "system", label: "System", icon: "monitor" },
];

export function UserMenu(): ReactNode {
  const session = useSession();
  const { logout } = useAuth();
  const { choice, setChoice } = useTheme();
  const [open, setOpen] = useState(false);
  const wrap = useRef<HTMLDivElement>(null);
  const name = session.user.display_name || session.user.username;

  useEffect(() => {
    if (!open) return;
    const onPointer = (event: PointerEvent): void => {
      if (wrap.current && !wrap.current.contains(event.target as Node)) setOpen(false);
    };
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === "Escape") setOpen(false);
    };
    document.addEventListener("pointerdown", onPointer);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("pointerdown", onPointer);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);

  return (
    <div className="menu-wrap" ref={wrap}>
      <button
        type="button"
        className="user-button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label="User menu"
        onClick={() => setOpen((v) => !v)}
      >
        <span className="avatar" aria-hidden="true">
          {initials(name)}
        </span>
        <span>{session.user.username}</span>
        <Icon name="chevronDown" />
      </button>
      {open ? (
        <div className="menu" role="menu">
          <div className="menu-head">
            <div className="name">{name}</div>
            <div className="small muted">{session.user.email}</div>
            <div className="row small" style={{ marginTop: 6 }}>
              <RoleBadge role={session.role} />
              <span className="muted">in {session.tenant.name}</span>
            </div>
          </div>
          <div className="menu-label" id="theme-label">
            Theme
          </div>
          <div className="segmented" role="group" aria-labelledby="theme-label">
            {THEMES.map((t) => (
              <button
                key={t.value}
                type="button"
                aria-pressed={choice === t.value}
                onClick={() => setChoice(t.value)}
              >
                <Icon name={t.icon} />
                {t.label}
              </button>
            ))}
          </div>
          <div className="menu-sep" />
          <Link className="menu-item" role="menuitem" to="/settings/account" onClick={() => setOpen(false)}>
            <Icon name="user" /> Account
          </Link>
          <button type="button" className="menu-item" role="menuitem" onClick={() => void logout()}>
            <Icon name="logout" /> Log out
          </button>
        </div>
      ) : null}
    </div>
  );
}
