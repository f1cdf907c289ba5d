"""Queries over the metrics store: the Prometheus HTTP API, metric summaries and sample pages.

Every query reaches the store through the :class:`~agentdeck.tsdb.base.Store` protocol
(``query_instant``, ``query_range``, ``select`` and the label APIs): the embedded store answers
with our PromQL engine, VictoriaMetrics with its own. Rule evaluation and the overview ask
through :mod:`agentdeck.query.service` too.
"""
