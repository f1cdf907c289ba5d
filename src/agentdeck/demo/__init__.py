"""The simulated demo fleet behind ``agentdeck serve --demo``.

``simulate`` computes the numbers (pure, seeded), ``fleet`` registers the agents and the
simulator's API key, ``runner`` sends the samples through the public ingest API.
"""
