/** A choice of ways to do one thing (send logs, send metrics), each a snippet to copy: the
 * buttons pick one, its text shows below with a copy button. */
import { useState, type ReactNode } from "react";
import { CopyButton } from "./ui";

export interface Snippet {
  title: string;
  text: string;
}

export function Snippets<W extends string>({
  label,
  snippets,
  initial,
}: {
  /** The accessible name of the buttons' group ("How to send logs"). */
  label: string;
  snippets: Record<W, Snippet>;
  initial: W;
}): ReactNode {
  const [way, setWay] = useState<W>(initial);
  const chosen = snippets[way];
  return (
    <>
      <div className="seg" role="group" aria-label={label}>
        {(Object.keys(snippets) as W[]).map((w) => (
          <button key={w} type="button" aria-pressed={w === way} onClick={() => setWay(w)}>
            {snippets[w].title}
          </button>
        ))}
      </div>
      <div className="snippet">
        <pre className="mono" aria-label={chosen.title}>
          {chosen.text}
        </pre>
        <CopyButton text={chosen.text} />
      </div>
    </>
  );
}
