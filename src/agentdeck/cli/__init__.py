"""The ``agentdeck`` command line."""
