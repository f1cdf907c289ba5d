"""The autoscaler: agents with ``config.auto_scaling.enabled`` gain or lose one replica on their
average CPU over the last 10 minutes (see :mod:`agentdeck.fleet.autoscaler.rule`)."""
