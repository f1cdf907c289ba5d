"""The Python client agents use to send metrics to agentdeck (depends only on httpx).

```python
from agentdeck_sdk import Client

metrics = Client("http://agentdeck:8000", api_key="adk_…", agent="planner")
metrics.gauge("queue_depth", 3)
metrics.counter("jobs_total")
with metrics.timer("step_duration_seconds", labels={"step": "plan"}):
    ...
metrics.record_llm_call("gpt-4o", tokens_in=812, tokens_out=144, latency=1.9, cost=0.004)
```

``AsyncClient`` is the asyncio twin. ``docs/sdk.md`` describes batching, retries and limits.
"""

from agentdeck_sdk._core import DEFAULT_BUCKETS, Backoff
from agentdeck_sdk.aio import AsyncClient
from agentdeck_sdk.client import Client

__version__ = "0.1.0"

__all__ = ["DEFAULT_BUCKETS", "AsyncClient", "Backoff", "Client"]
