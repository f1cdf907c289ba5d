import { describe, expect, it } from "vitest";
import { applyThemeChoice, effectiveTheme, readThemeChoice, THEME_KEY } from "./theme";

function memoryStorage(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial));
  return {
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
    removeItem: (k: string) => void data.delete(k),
    data,
  };
}

describe("theme", () => {
  it("defaults to the system preference", () => {
    expect(readThemeChoice(memoryStorage())).toBe("system");
    expect(readThemeChoice(memoryStorage({ [THEME_KEY]: "purple" }))).toBe("system");
    expect(effectiveTheme("system", true)).toBe("dark");
    expect(effectiveTheme("system", false)).toBe("light");
    expect(effectiveTheme("light", true)).toBe("light");
  });

  it("remembers a pinned theme and forgets it for system", () => {
    const storage = memoryStorage();
    const root = document.createElement("html");
    applyThemeChoice("dark", root, storage);
    expect(root.dataset.theme).toBe("dark");
    expect(readThemeChoice(storage)).toBe("dark");
    applyThemeChoice("system", root, storage);
    expect(root.dataset.theme).toBeUndefined();
    expect(storage.data.has(THEME_KEY)).toBe(false);
  });
});
