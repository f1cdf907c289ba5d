"""Prometheus scraping: targets (models, schemas, service, router) and the scraper loop
(:mod:`.loop`), which hands what it collects to the ingest core."""
