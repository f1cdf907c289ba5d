"""Notifications: channels (one module per kind), the durable outbox, delivery and its log."""
