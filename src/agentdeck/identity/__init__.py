"""Tenants, users, roles, passwords, tokens, API keys and permissions."""
