"""Which subscriptions of a tenant's metrics channel take which samples, found through an
index by agent (an event costs O(samples + matches), not O(samples × subscriptions))."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from agentdeck.realtime.connection import ChannelSubscription, Connection, KeyedSamples


class MetricRoutes:
    """The subscriptions of one tenant's metrics channel, indexed by the agents they filter
    on (ids or names); those without an agent filter take every sample."""

    def __init__(self, subscribers: dict[Connection, ChannelSubscription]) -> None:
        self.connections: dict[ChannelSubscription, Connection] = {}
        self.by_agent: dict[str, list[ChannelSubscription]] = defaultdict(list)
        self.any_agent: list[ChannelSubscription] = []
        for connection, subscription in subscribers.items():
            self.connections[subscription] = connection
            agents = subscription.filter.agent if subscription.filter else None
            if agents is None:
                self.any_agent.append(subscription)
            else:
                for agent in dict.fromkeys(agents):
                    self.by_agent[agent].append(subscription)

    def match(
        self, keyed: list[tuple[str, dict[str, Any]]]
    ) -> dict[ChannelSubscription, KeyedSamples]:
        """The samples each subscription's filter takes (agent and metric), in order."""
        matched: dict[ChannelSubscription, KeyedSamples] = {}
        for key, sample in keyed:
            labels = sample.get("labels")
            names = {sample.get("agent_id")}
            if isinstance(labels, dict):
                names.update((labels.get("agent"), labels.get("agent_id")))
            targets = [sub for n in names if n is not None for sub in self.by_agent.get(n, ())]
            if len(names) > 1 and len(targets) > 1:
                targets = list(dict.fromkeys(targets))  # an id and a name of the same agent
            for subscription in (*targets, *self.any_agent):
                flt = subscription.filter
                if flt is None or flt.metric is None or sample.get("metric") in flt.metric:
                    found = matched.get(subscription)
                    if found is None:
                        matched[subscription] = [(key, sample)]
                    else:
                        found.append((key, sample))
        return matched
