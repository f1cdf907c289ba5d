"""Routing: the tree, receivers, silences, inhibition, escalation policies."""
