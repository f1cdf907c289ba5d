"""The few Kubernetes API calls the driver makes, through kubernetes-asyncio, as plain JSON.

Every call reads the raw answer (``_preload_content=False``) and parses it: the driver works
with the documents as the API server sends them (camelCase, no model classes), the same shape
the manifests are written in. Endpoints used (and nothing else, which is what the RBAC manifest
grants and the tests' emulation serves):

- ``apps/v1`` deployments in the namespace: list and watch (by label), get, create, replace
  (PUT with ``metadata.resourceVersion``: a stale one is 409), delete; the ``scale``
  subresource: patch (merge patch of ``spec.replicas``);
- ``v1`` services: get, create, replace, delete;
- ``v1`` pods: list and watch (by label); ``pods/log``: get (the output tail, and followed
  as it is written).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from agentdeck.settings import FleetKubernetesSettings

Kind = Literal["deployments", "pods"]
MERGE_PATCH = "application/merge-patch+json"


class KubeError(Exception):
    """The API server answered an error (``status``: its HTTP status; 0: no answer)."""

    def __init__(self, status: int, reason: str, message: str = "") -> None:
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Listing:
    items: list[dict[str, Any]]
    resource_version: str


def _error(status: int, body: bytes) -> KubeError:
    try:
        doc = json.loads(body)
    except ValueError:
        return KubeError(status, "Error", body[:200].decode(errors="replace"))
    if isinstance(doc, dict):
        return KubeError(status, str(doc.get("reason") or "Error"), str(doc.get("message") or ""))
    return KubeError(status, "Error")


def in_cluster(settings: FleetKubernetesSettings) -> bool:
    if settings.in_cluster is not None:
        return settings.in_cluster
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and settings.kubeconfig is None


class Kube:
    """A connection to one namespace of one cluster."""

    def __init__(self, settings: FleetKubernetesSettings) -> None:
        self.settings = settings
        self.namespace = settings.namespace
        self.host = ""
        self._client: Any = None
        self._apps: Any = None
        self._core: Any = None

    async def connect(self) -> None:
        from kubernetes_asyncio import client, config

        configuration = client.Configuration()
        if in_cluster(self.settings):
            load: Any = config.load_incluster_config  # untyped in the library
            load(client_configuration=configuration)
        else:
            path = self.settings.kubeconfig or os.environ.get("KUBECONFIG") or None
            await config.load_kube_config(
                config_file=str(path) if path else None,
                context=self.settings.context,
                client_configuration=configuration,
                persist_config=False,
            )
        self.host = str(configuration.host)
        self._client = client.ApiClient(configuration=configuration)
        self._apps = client.AppsV1Api(self._client)
        self._core = client.CoreV1Api(self._client)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # --- plumbing --------------------------------------------------------------------------

    async def _body(
        self, method: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
    ) -> bytes:
        """Call ``method`` and answer the body of its answer; KubeError for no answer or any
        non-2xx."""
        import aiohttp

        kwargs.setdefault("_request_timeout", self.settings.request_timeout_seconds)
        try:
            response = await method(*args, _preload_content=False, **kwargs)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise KubeError(0, type(exc).__name__, str(exc)) from exc
        try:
            body = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise KubeError(0, type(exc).__name__, str(exc)) from exc
        finally:
            response.release()
        if not 200 <= response.status < 300:
            raise _error(response.status, body)
        return bytes(body)

    async def _call(
        self, method: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        """Call ``method`` and answer its JSON document; KubeError for any non-2xx."""
        body = await self._body(method, *args, **kwargs)
        doc: dict[str, Any] = json.loads(body) if body else {}
        return doc

    async def _read(
        self, method: Callable[..., Awaitable[Any]], name: str
    ) -> dict[str, Any] | None:
        """The named object's document in the namespace; None when it is not there (404)."""
        try:
            return await self._call(method, name, self.namespace)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    async def _delete(
        self, method: Callable[..., Awaitable[Any]], name: str, **kwargs: Any
    ) -> bool:
        """Delete the named object in the namespace; False when it was not there (404)."""
        try:
            await self._call(method, name, self.namespace, **kwargs)
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def _lister(self, kind: Kind) -> Callable[..., Awaitable[Any]]:
        if kind == "deployments":
            return self._apps.list_namespaced_deployment  # type: ignore[no-any-return]
        return self._core.list_namespaced_pod  # type: ignore[no-any-return]

    # --- deployments -----------------------------------------------------------------------

    async def get_deployment(self, name: str) -> dict[str, Any] | None:
        return await self._read(self._apps.read_namespaced_deployment, name)

    async def create_deployment(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call(self._apps.create_namespaced_deployment, self.namespace, body)

    async def replace_deployment(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call(
            self._apps.replace_namespaced_deployment, name, self.namespace, body
        )

    async def scale_deployment(self, name: str, replicas: int) -> dict[str, Any]:
        return await self._call(
            self._apps.patch_namespaced_deployment_scale,
            name,
            self.namespace,
            {"spec": {"replicas": replicas}},
            _content_type=MERGE_PATCH,
        )

    async def delete_deployment(self, name: str) -> bool:
        """False when it was not there."""
        return await self._delete(
            self._apps.delete_namespaced_deployment, name, body={"propagationPolicy": "Background"}
        )

    # --- services --------------------------------------------------------------------------

    async def get_service(self, name: str) -> dict[str, Any] | None:
        return await self._read(self._core.read_namespaced_service, name)

    async def create_service(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call(self._core.create_namespaced_service, self.namespace, body)

    async def replace_service(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call(self._core.replace_namespaced_service, name, self.namespace, body)

    async def delete_service(self, name: str) -> bool:
        """False when it was not there."""
        return await self._delete(self._core.delete_namespaced_service, name)

    # --- pods ------------------------------------------------------------------------------

    async def pod_log(self, name: str, *, tail_lines: int) -> str:
        body = await self._body(
            self._core.read_namespaced_pod_log,
            name,
            self.namespace,
            tail_lines=tail_lines,
            timestamps=True,
        )
        return body.decode(errors="replace")

    async def follow_pod_log(
        self, name: str, *, since_seconds: int | None = None, tail_lines: int | None = None
    ) -> AsyncIterator[bytes]:
        """The pod's log as it is written (``follow=true``, each line stamped), in chunks,
        until the container exits or the server ends the stream; KubeError when refused."""
        import aiohttp

        options: dict[str, Any] = {}
        if since_seconds is not None:
            options["since_seconds"] = since_seconds
        if tail_lines is not None:
            options["tail_lines"] = tail_lines
        try:
            response = await self._core.read_namespaced_pod_log(
                name,
                self.namespace,
                follow=True,
                timestamps=True,
                _preload_content=False,
                _request_timeout=aiohttp.ClientTimeout(
                    connect=self.settings.request_timeout_seconds
                ),
                **options,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise KubeError(0, type(exc).__name__, str(exc)) from exc
        try:
            if not 200 <= response.status < 300:
                raise _error(response.status, await response.read())
            try:
                async for chunk in response.content.iter_any():
                    yield bytes(chunk)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise KubeError(0, type(exc).__name__, str(exc)) from exc
        finally:
            response.close()

    # --- list and watch --------------------------------------------------------------------

    async def list(self, kind: Kind, label_selector: str) -> Listing:
        doc = await self._call(self._lister(kind), self.namespace, label_selector=label_selector)
        meta = doc.get("metadata") or {}
        return Listing(list(doc.get("items") or []), str(meta.get("resourceVersion") or ""))

    async def watch(
        self, kind: Kind, label_selector: str, resource_version: str
    ) -> AsyncIterator[dict[str, Any]]:
        """The events after ``resource_version`` until the server ends the watch (after
        ``watch_timeout_seconds``): ``{"type", "object"}``; an ``ERROR`` event (410 Gone: the
        version is too old) is raised as KubeError."""
        import aiohttp

        timeout = self.settings.watch_timeout_seconds
        try:
            response = await self._lister(kind)(
                self.namespace,
                label_selector=label_selector,
                watch=True,
                resource_version=resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=timeout,
                _preload_content=False,
                _request_timeout=aiohttp.ClientTimeout(
                    connect=self.settings.request_timeout_seconds, sock_read=timeout + 30
                ),
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise KubeError(0, type(exc).__name__, str(exc)) from exc
        try:
            if not 200 <= response.status < 300:
                raise _error(response.status, await response.read())
            while True:
                try:
                    line = await response.content.readline()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    raise KubeError(0, type(exc).__name__, str(exc)) from exc
                if not line:
                    return
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise KubeError(
                        int(status.get("code") or 500),
                        str(status.get("reason") or "Error"),
                        str(status.get("message") or ""),
                    )
                yield event
        finally:
            response.close()  # an unfinished stream is not reused
