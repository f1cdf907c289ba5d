"""Alerting: rules, the evaluator and alert lifecycle, routing, silences, inhibition, escalation."""
