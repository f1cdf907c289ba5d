"""A webhook receiver on 127.0.0.1 in the benchmark's own process (a thread), noting when the
firing notification of each alert (by its ``probe`` label) arrives."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

from bench._agentdeck import free_port


class WebhookReceiver:
    """Webhook receiver on 127.0.0.1 noting when each probe's firing notification arrives."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                now = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                message = orjson.loads(body)
                with receiver.cond:
                    for alert in message.get("alerts", []):
                        probe = alert.get("labels", {}).get("probe")
                        if alert.get("status") == "firing" and probe:
                            receiver.arrivals.setdefault(probe, now)
                    receiver.cond.notify_all()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, probe: str, deadline: float) -> float | None:
        with self.cond:
            while probe not in self.arrivals:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.arrivals[probe]
