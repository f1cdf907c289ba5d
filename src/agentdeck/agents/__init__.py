"""The agent registry: the fleet's nouns."""
