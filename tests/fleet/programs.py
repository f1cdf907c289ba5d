"""Agent programs for the fleet tests, written to disk and run as real processes."""

from __future__ import annotations

from pathlib import Path

#: Serves /healthz (200) and / (the version) on $PORT; says hello on both streams.
SERVER = """
import http.server, os, sys
port = int(os.environ["PORT"])
version = os.environ.get("AGENTDECK_AGENT_VERSION", "?")
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (version if self.path == "/" else "ok").encode()
        self.send_response(200 if self.path in ("/", "/healthz") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", port), Handler)
print(f"hello on {port} version {version}", flush=True)
print("warming up", file=sys.stderr, flush=True)
server.serve_forever()
"""

#: Exits at once with a complaint on stderr.
CRASH = """
import sys
print("starting", flush=True)
print("fatal: the model endpoint is not configured", file=sys.stderr, flush=True)
sys.exit(3)
"""

#: A server that ignores SIGTERM (only SIGKILL ends it).
IGNORES_TERM = (
    """
import signal
signal.signal(signal.SIGTERM, signal.SIG_IGN)
"""
    + SERVER
)

#: Listens, but its health path answers 503 forever.
NEVER_HEALTHY = """
import http.server, os
port = int(os.environ["PORT"])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""

#: Allocates far more memory than its limit allows.
MEMORY_HOG = """
import time
block = bytearray(512 * 1024 * 1024)
print("allocated", len(block), flush=True)
time.sleep(60)
"""


def write_programs(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, source in {
        "server": SERVER,
        "crash": CRASH,
        "ignores_term": IGNORES_TERM,
        "never_healthy": NEVER_HEALTHY,
        "memory_hog": MEMORY_HOG,
    }.items():
        path = directory / f"{name}.py"
        path.write_text(source.lstrip())
        paths[name] = path
    return paths
