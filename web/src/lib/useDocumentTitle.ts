import { useEffect } from "react";

/** Sets the browser tab's title to "<title> · agentdeck" while the page is shown. */
export function useDocumentTitle(title: string | null | undefined): void {
  useEffect(() => {
    if (!title) return;
    const before = document.title;
    document.title = `${title} · agentdeck`;
    return () => {
      document.title = before;
    };
  }, [title]);
}
