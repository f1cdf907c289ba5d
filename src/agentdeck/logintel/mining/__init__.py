"""Online log template mining: every line gets a template id and a template with ``<*>``.

How a line is placed (details in ``docs/log-intelligence.md``):

1. **Masking** (``masking``): spans that are variables by their shape become ``<*>``: numbers
   not glued to a word, hex, ids, IPs and ports, paths and URLs, MAC addresses, booleans,
   dates with month names. Decided per token through caches keyed by the token's shape (its
   digits made 0), so a repeated shape costs a lookup.
2. **Caches**: the line's shape, else its masked form, else (for a line ending in
   ``key=value`` fields) its masked text before those fields (``tails.RunCache``) is looked
   up; a hit is the answer. ``add_many`` (ingest's batches) asks the run cache before masking
   the line: only the text before the run is masked (``RunCache.find``).
3. **Folding** (``tokens.fold``): a run of values with their units (``<*> bytes (<*> KB)``)
   becomes one value token, so lines whose values span a varying number of words align.
4. **Matching** (``matching.glob``): templates whose leading words (or first word inside) the
   line holds are tried, at most ``index.MAX_SCAN`` per lookup; a value token may take several
   value-like tokens; the most specific wins. A trailing run of ``key=value`` fields whose keys
   vary (4 key sequences after one prefix) becomes one run variable (``tails``).
5. **Generalising**: otherwise the template that differs only in values (``key=value`` with
   the same key, paths, bracketed values, numbers in names) takes the line's values; or the
   templates that differ from the line at one position form a family, and once the position
   has shown enough distinct values (fewer for value-like words, more for names of events:
   Capitalised, -ed/-ing, first words, short contexts) it becomes ``<*>``.
6. Otherwise the line founds a new template.
"""

from agentdeck.logintel.mining import masking, tokens
from agentdeck.logintel.mining.masking import WILDCARD, mask
from agentdeck.logintel.mining.miner import MinerCounters, TemplateInfo, TemplateMiner

__all__ = ["WILDCARD", "MinerCounters", "TemplateInfo", "TemplateMiner", "clear_caches", "mask"]


def clear_caches() -> None:
    """Empty the process-wide caches every miner shares (masking, token judgements): the next
    lines are processed as by a fresh process. Only benchmarks need this."""
    masking.clear_cache()
    tokens.clear_cache()
