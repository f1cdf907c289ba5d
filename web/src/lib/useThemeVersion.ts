import { useEffect, useState } from "react";

/** Bumps when the colour scheme changes (system preference or the theme menu): charts drawn on a
 * canvas read their colours from CSS and must redraw. */
export function useThemeVersion(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const bump = (): void => setVersion((v) => v + 1);
    const media = typeof window.matchMedia === "function" ? window.matchMedia("(prefers-color-scheme: dark)") : null;
    media?.addEventListener("change", bump);
    const observer = new MutationObserver(bump);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => {
      media?.removeEventListener("change", bump);
      observer.disconnect();
    };
  }, []);
  return version;
}
