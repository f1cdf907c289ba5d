"""Where a channel's HTTP request goes: the outbound policy's check of its URL, and the proxy
the environment names (``HTTP_PROXY`` / ``HTTPS_PROXY``, ``NO_PROXY``), read once when the
sender starts.

aiohttp's ``trust_env`` reads the environment and ``~/.netrc`` again on every request, each time
on a worker thread (two thread hops and a file read per send, more than half of a send's CPU in
``bench/notify.py``), and it would send netrc credentials for the destination host to whatever
endpoint a user configured. A proxy named in the environment is used as before (with netrc
credentials for the proxy itself, as aiohttp did): the operator's proxy resolves and reaches the
destination itself, so through a proxy the policy checks what the URL spells (scheme, literal
addresses), as before. A URL's route is remembered: neither the policy nor the environment
changes while the sender runs. A refused URL is checked again at each send.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.request import (  # type: ignore[attr-defined]  # typeshed lacks the second
    getproxies_environment,
    proxy_bypass_environment,
)

import aiohttp
from aiohttp.helpers import proxies_from_env
from yarl import URL

from agentdeck.outbound import OutboundPolicy, check_url

#: URLs whose route is remembered (forgotten all at once beyond this)
KNOWN_URLS = 4096


@dataclass(frozen=True, slots=True)
class Route:
    """The proxy to send through (``None``: connect directly)."""

    proxy: URL | None = None
    proxy_auth: aiohttp.BasicAuth | None = None


DIRECT = Route()


class Routes:
    """The routes of one sender's requests; see the module docstring."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self._environment = getproxies_environment()  # includes NO_PROXY as "no"
        self._proxies = proxies_from_env() if self._environment else {}
        self._known: dict[str, Route] = {}

    def route(self, url: str) -> Route:
        """The route of ``url``; raises ``OutboundRefused`` when the policy refuses it."""
        found = self._known.get(url)
        if found is None:
            check_url(self.policy, url)
            found = self._proxy_for(URL(url))
            if len(self._known) >= KNOWN_URLS:
                self._known.clear()
            self._known[url] = found
        return found

    def _proxy_for(self, url: URL) -> Route:
        info = self._proxies.get(url.scheme)
        if info is None or (url.host and proxy_bypass_environment(url.host, self._environment)):
            return DIRECT
        return Route(info.proxy, info.proxy_auth)
