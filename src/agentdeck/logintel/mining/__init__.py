"""Online log template mining: every line gets a template id and a template with ``<*>``."""

from agentdeck.logintel.mining.miner import TemplateMiner

__all__ = ["TemplateMiner"]
