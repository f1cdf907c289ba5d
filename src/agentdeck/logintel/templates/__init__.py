"""Templates of a tenant's log lines: the per-tenant miners, their statistics, persistence and
the templates API."""
