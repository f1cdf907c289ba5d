"""Three `agentdeck serve` replicas the way a user runs them: PostgreSQL (a fresh database on the
shared server), a private Redis, VictoriaMetrics, and nginx in front with the shipped config
(deploy/nginx/agentdeck.conf, upstreams and port rewritten). Everything on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.redis_server import RedisServer, free_port
from tests.tsdb.conftest import VictoriaMetricsServer, vm_binary

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx" / "agentdeck.conf"
PG_ADMIN = os.environ.get("AGENTDECK_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "scale-out-secret-key-that-is-long-enough-0123456789abcdef"
ADMIN_USER, ADMIN_PASSWORD = "ops-admin", "correct horse battery staple 42"
START_TIMEOUT_S = 240.0  # three interpreters starting at once on a busy 2-core machine
#: Loop intervals short enough for failover to be seen in seconds (lease TTL = 3 intervals).
LOOP_ENV = {
    "AGENTDECK_ALERTING__EVALUATOR_TICK_SECONDS": "0.5",
    "AGENTDECK_ALERTING__DISPATCH_INTERVAL_SECONDS": "0.5",
    "AGENTDECK_NOTIFY__WORKER_INTERVAL_SECONDS": "0.2",
    "AGENTDECK_LOOPS__RETENTION_INTERVAL_SECONDS": "1",
    "AGENTDECK_LOGS__RETENTION_INTERVAL_SECONDS": "1",
    "AGENTDECK_FLEET__AUTOSCALER__INTERVAL_SECONDS": "1",
    "AGENTDECK_LOGINTEL__TEMPLATES_SAVE_INTERVAL_SECONDS": "1",
    "AGENTDECK_LOGSTREAMS__BATCH_INTERVAL_SECONDS": "1",
    "AGENTDECK_LOGSTREAMS__CLEANUP_INTERVAL_SECONDS": "1",
}
READ_LIMIT = 40
#: nginx's connections per worker (one worker here). Every request in flight and every
#: WebSocket client holds two: the client's and the one to a replica. nginx's built-in 512
#: is less than the soak's 200 WebSocket clients and 64 pooled requests take.
NGINX_WORKER_CONNECTIONS = 4096


def _binary(name: str) -> str:
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if Path(p).exists()), None
    )
    if path is None:
        pytest.fail(f"{name} is missing: scripts/test-deps.sh installs it", pytrace=False)
    return path


@dataclass
class Replica:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Cluster:
    home: Path
    database: str
    redis: RedisServer
    vm: VictoriaMetricsServer
    env: dict[str, str]
    replicas: list[Replica] = field(default_factory=list)
    nginx: subprocess.Popen[bytes] | None = None
    nginx_port: int = 0
    nginx_temp: Path | None = None

    @property
    def url(self) -> str:
        """Through the balancer."""
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.database}"

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "agentdeck.cli.main", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"agentdeck {args}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def start_replica(self, name: str) -> Replica:
        port = free_port()
        replica = Replica(name, port, self._spawn(name, port), self.home / f"{name}.log")
        self.replicas.append(replica)
        return replica

    def _spawn(self, name: str, port: int) -> subprocess.Popen[bytes]:
        data = self.home / name
        data.mkdir(exist_ok=True)
        env = {**self.env, "AGENTDECK_DATA_DIR": str(data)}
        with (self.home / f"{name}.log").open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "agentdeck.cli.main", "serve", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def terminate(self, replica: Replica, timeout: float = 60.0) -> int:
        """A graceful stop (SIGTERM, as systemd, Kubernetes and compose send): its exit code."""
        replica.process.send_signal(signal.SIGTERM)
        return replica.process.wait(timeout=timeout)

    def restart(self, replica: Replica) -> None:
        """Start a stopped replica again, on its port and data directory, and wait until ready."""
        assert not replica.alive()
        replica.process = self._spawn(replica.name, replica.port)
        self.wait_ready(replica)

    def wait_ready(self, replica: Replica) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert replica.alive(), replica.log.read_text()
            try:
                if httpx.get(f"{replica.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (
                f"{replica.name} not ready:\n{replica.log.read_text()}"
            )
            time.sleep(0.1)  # polling a readiness probe against a deadline

    def start_nginx(self) -> None:
        self.nginx_port = free_port()
        conf = NGINX_CONF.read_text()
        upstreams = "".join(
            f"    server 127.0.0.1:{r.port} max_fails=1 fail_timeout=5s;\n" for r in self.replicas
        )
        conf = re.sub(
            r"(upstream agentdeck \{\n)(?:    server [^\n]+\n)+", rf"\g<1>{upstreams}", conf
        )
        conf = conf.replace("listen 80;", f"listen 127.0.0.1:{self.nginx_port};")
        site = self.home / "agentdeck.conf"
        site.write_text(conf)
        # nginx's workers drop root for an unprivileged user (as on any host), so their
        # temporary files (request bodies past client_body_buffer_size) go where that user
        # can reach: not inside the test's private directory
        self.nginx_temp = Path(tempfile.mkdtemp(prefix="agentdeck-nginx-"))
        self.nginx_temp.chmod(0o755)
        main = self.home / "nginx.conf"
        main.write_text(
            f"daemon off;\npid {self.home}/nginx.pid;\n"
            f"error_log {self.home}/nginx-error.log warn;\n"
            f"events {{ worker_connections {NGINX_WORKER_CONNECTIONS}; }}\n"
            f"http {{ access_log off; client_body_temp_path {self.nginx_temp}/body; "
            f"proxy_temp_path {self.nginx_temp}/proxy; include {site}; }}\n"
        )
        self.nginx = subprocess.Popen(
            [_binary("nginx"), "-p", str(self.home), "-c", str(main)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.nginx.poll() is None, (self.home / "nginx-error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not answer"
            time.sleep(0.05)  # polling the proxy's first answer against a deadline

    def kill(self, replica: Replica) -> None:
        replica.process.send_signal(signal.SIGKILL)
        replica.process.wait(timeout=30)

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.terminate()
            self.nginx.wait(timeout=15)
        if self.nginx_temp is not None:
            shutil.rmtree(self.nginx_temp, ignore_errors=True)
        for replica in self.replicas:
            if replica.alive():
                replica.process.terminate()
        for replica in self.replicas:
            try:
                replica.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                replica.process.kill()
        self.vm.stop()
        self.redis.stop()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def start_cluster(home: Path, replicas: int = 3) -> Cluster:
    database = f"agentdeck_scale_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{database}"'))
    redis = RedisServer(_binary("redis-server"), home)
    redis.start()
    (home / "vm").mkdir()
    vm = VictoriaMetricsServer(vm_binary(), home / "vm")
    vm.wait_ready()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AGENTDECK_")},
        "AGENTDECK_ENV_FILE": str(home / "none.env"),
        "AGENTDECK_ENVIRONMENT": "test",
        "AGENTDECK_SECRET_KEY": SECRET,
        "AGENTDECK_DATABASE__URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
        "AGENTDECK_REDIS_URL": redis.url,
        "AGENTDECK_TSDB__BACKEND": "victoriametrics",
        "AGENTDECK_TSDB__VICTORIAMETRICS_URL": vm.url,
        "AGENTDECK_SERVER__TRUSTED_PROXIES": "127.0.0.1",
        "AGENTDECK_OUTBOUND__ALLOW_LOOPBACK": "true",
        "AGENTDECK_RATE_LIMIT__READ": f"{READ_LIMIT}/minute",
        "AGENTDECK_LOG_LEVEL": "WARNING",
        "AGENTDECK_LOG_JSON": "true",
        "AGENTDECK_DATA_DIR": str(home / "cli"),
        **LOOP_ENV,
    }
    cluster = Cluster(home=home, database=database, redis=redis, vm=vm, env=env)
    try:
        cluster.cli("migrate")
        cluster.cli(
            "user",
            "create",
            ADMIN_USER,
            "--email",
            "ops@example.com",
            "--password",
            ADMIN_PASSWORD,
            "--admin",
        )
        started = [cluster.start_replica(f"replica-{i + 1}") for i in range(replicas)]
        for replica in started:
            cluster.wait_ready(replica)
        cluster.start_nginx()
    except BaseException:
        cluster.stop()
        raise
    return cluster
