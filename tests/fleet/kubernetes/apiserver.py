"""An emulation of the Kubernetes API server, of exactly the endpoints the driver uses.

No API server can run on these machines, and the PyPI ``kmock`` package (judged first) is a
generic in-memory store: no resource versions (a list answers ``'...'``), no 409 on a stale
``resourceVersion``, PUT merged like a patch, watches that cannot resume from a version, no
subresources and no controller. So this one is written for the driver, and holds to the API
conventions it relies on:

- objects get ``uid``, ``creationTimestamp``, a cluster-wide increasing ``resourceVersion``
  and (Deployments) a ``generation`` that grows whenever the spec changes;
- POST of an existing name is 409 AlreadyExists; PUT needs the current ``resourceVersion``
  (a stale one is 409 Conflict, a missing one 422); GET/PUT/PATCH/DELETE of a missing object
  is 404 NotFound; every created or replaced object is validated against the Kubernetes
  OpenAPI schema (``kubernetes-validate``, strict) and refused with 422 Invalid, as the real
  API server refuses unknown or mistyped fields;
- list and watch by label selector; a watch from ``resourceVersion`` replays the retained
  events after it (or answers an ERROR event with 410 Gone when that version was compacted
  away, see :meth:`ApiServer.compact`), ends after ``timeoutSeconds`` with a BOOKMARK, and can
  be ended at once (:meth:`ApiServer.end_watches`, as when an API server restarts);
- the ``scale`` subresource (GET, PUT with resourceVersion, PATCH);
- a bearer token is required (401 otherwise), as the kubeconfig the tests write gives one;
- a Deployment controller, stepped deterministically (:meth:`ApiServer.step`, or
  :meth:`ApiServer.run` at a pace): pods are created per the strategy (RollingUpdate with the
  manifest's maxSurge/maxUnavailable, unhealthy old pods cleaned up first; Recreate), become
  Running and Ready one step after creation (or crash-loop when their image is in
  ``crashing_images``), terminating pods go one step later; ``observedGeneration``, replicas,
  updated, ready, available, the ``deployment.kubernetes.io/revision`` annotation, and the
  Available and Progressing conditions follow, with ProgressDeadlineExceeded after
  ``progressDeadlineSeconds`` of emulated time (one step is ``step_seconds``) without progress.

Anything else it is asked is answered 404 and remembered in ``unserved`` (tests assert it
stays empty: the driver uses nothing this does not emulate).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kubernetes_validate
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

TOKEN = "emulated-cluster-token"
VERSION = kubernetes_validate.latest_version()
REVISION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH = "pod-template-hash"

Key = tuple[str, str, str]  # resource (deployments, services, pods), namespace, name


def status_doc(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure" if code >= 400 else "Success",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }


class Refused(Exception):
    def __init__(self, code: int, reason: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.doc = status_doc(code, reason, message, **details)


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


def _selector(text: str | None) -> list[tuple[str, str, str]]:
    terms = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        for op in ("!=", "==", "="):
            if op in part:
                key, value = part.split(op, 1)
                terms.append((key.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            terms.append((part, "exists", ""))
    return terms


def _matches(obj: dict[str, Any], terms: list[tuple[str, str, str]]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for key, op, value in terms:
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
        if op == "exists" and key not in labels:
            return False
    return True


def _template_hash(template: dict[str, Any]) -> str:
    raw = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:10]


@dataclass
class Rollout:
    """The controller's memory of one Deployment."""

    progress_at: float = 0.0
    revisions: dict[str, int] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]


class ApiServer:
    def __init__(self, *, step_seconds: float = 1.0, history: int = 10_000) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.events: list[tuple[int, str, str, dict[str, Any]]] = []  # rv, resource, type, obj
        self.history = history
        self.compacted = 0  # versions at or below this are gone
        self.version = itertools.count(100)
        self.current = 99
        self.step_seconds = step_seconds
        self.clock = 0.0
        self.base_time = datetime(2026, 1, 1, tzinfo=UTC)  # of the controller's emulated time
        self.crashing_images: set[str] = set()
        #: Names another writer creates (from ``race_body``) just before the driver's POST.
        self.race_create: set[str] = set()
        self.race_body: dict[str, Any] = {}
        self.requests: list[Seen] = []
        self.written: list[dict[str, Any]] = []
        self.unserved: list[str] = []
        self.refusals: list[tuple[str, int]] = []
        self.logs: dict[str, list[str]] = {}
        self.rollouts: dict[str, Rollout] = {}
        self.pod_numbers = itertools.count(1)
        self.ips = itertools.count(10)
        # a change signal without a lock: on Python 3.11 a watch cancelled twice (anyio
        # re-delivers a cancel scope's cancellation) while inside Condition.wait() can leave
        # the condition's lock held by an orphaned task, and every later write then hangs
        self._changed = asyncio.Event()
        self.closing = asyncio.Event()
        self.epoch_of_watches = 0
        #: Open watches deliver nothing while set (changes pile up unseen).
        self.frozen = False
        self.open_watches = 0
        self.open_log_follows = 0
        #: Bumped to end every open log follow (as an API server restart would).
        self.epoch_of_log_follows = 0
        self.app = Starlette(routes=self._routes())

    # --- time, versions, events ----------------------------------------------------------------

    def now(self) -> str:
        return (self.base_time + timedelta(seconds=self.clock)).isoformat().replace("+00:00", "Z")

    def _bump(self, obj: dict[str, Any]) -> int:
        self.current = next(self.version)
        obj["metadata"]["resourceVersion"] = str(self.current)
        return self.current

    def _record(self, resource: str, kind_of_event: str, obj: dict[str, Any]) -> None:
        rv = int(obj["metadata"]["resourceVersion"])
        self.events.append((rv, resource, kind_of_event, copy.deepcopy(obj)))
        if len(self.events) > self.history:
            dropped = self.events[: len(self.events) - self.history]
            self.events = self.events[len(self.events) - self.history :]
            self.compacted = max(self.compacted, dropped[-1][0])

    async def _notify(self) -> None:
        fired, self._changed = self._changed, asyncio.Event()
        fired.set()

    def _since(self) -> asyncio.Event:
        """The signal the next change sets: take it before looking at the state, then wait
        on it, and no change in between is missed."""
        return self._changed

    @staticmethod
    async def _wait(since: asyncio.Event, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(since.wait(), seconds)

    def compact(self) -> None:
        """Forget every event so far (etcd compaction): watches from an older version get
        410 Gone and must list again."""
        if self.events:
            self.compacted = self.events[-1][0]
        self.compacted = max(self.compacted, self.current)
        self.events.clear()

    async def end_watches(self) -> None:
        """End every open watch now (an API server restart, a load balancer timeout)."""
        self.epoch_of_watches += 1
        await self._notify()

    # --- the store -----------------------------------------------------------------------------

    def _objects(self, resource: str, namespace: str) -> list[dict[str, Any]]:
        return [
            o for (r, ns, _), o in sorted(self.objects.items()) if r == resource and ns == namespace
        ]

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((resource, namespace, name))

    def _validate(self, body: dict[str, Any]) -> None:
        self.written.append(copy.deepcopy(body))
        try:
            kubernetes_validate.validate(body, VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise Refused(
                422,
                "Invalid",
                f"{body.get('kind')} is invalid: {str(exc).splitlines()[0]}",
                kind=body.get("kind"),
            ) from None

    def _create(self, resource: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        meta = body.get("metadata") or {}
        name = meta.get("name")
        if not name:
            raise Refused(422, "Invalid", "metadata.name: Required value")
        if meta.get("namespace", namespace) != namespace:
            raise Refused(400, "BadRequest", "the namespace of the object does not match the URL")
        if name in self.race_create:
            self.race_create.discard(name)
            self._create(resource, namespace, copy.deepcopy(self.race_body))
        if (resource, namespace, name) in self.objects:
            raise Refused(
                409,
                "AlreadyExists",
                f'{resource} "{name}" already exists',
                name=name,
                kind=resource,
            )
        self._validate(body)
        obj = copy.deepcopy(body)
        obj["metadata"].update(
            {
                "namespace": namespace,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": self.now(),
            }
        )
        if resource == "deployments":
            obj["metadata"]["generation"] = 1
            obj["spec"].setdefault("replicas", 1)
            obj["status"] = {}
        if resource == "services":
            ip = f"10.96.0.{next(self.ips)}"
            obj["spec"]["clusterIP"] = ip
            obj["spec"]["clusterIPs"] = [ip]
        self._bump(obj)
        self.objects[(resource, namespace, name)] = obj
        self._record(resource, "ADDED", obj)
        return obj

    def _require(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        obj = self.objects.get((resource, namespace, name))
        if obj is None:
            raise Refused(
                404, "NotFound", f'{resource} "{name}" not found', name=name, kind=resource
            )
        return obj

    def _update(
        self, resource: str, namespace: str, name: str, new: dict[str, Any], *, check_rv: bool
    ) -> dict[str, Any]:
        current = self._require(resource, namespace, name)
        meta = new.get("metadata") or {}
        if meta.get("name", name) != name:
            raise Refused(400, "BadRequest", "the name of the object does not match the URL")
        if check_rv:
            given = meta.get("resourceVersion")
            if not given:
                raise Refused(
                    422,
                    "Invalid",
                    "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
                )
            if given != current["metadata"]["resourceVersion"]:
                raise Refused(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {resource} "{name}": the object has been '
                    "modified; please apply your changes to the latest version and try again",
                    name=name,
                    kind=resource,
                )
        if resource == "services":
            ip = (new.get("spec") or {}).get("clusterIP")
            if ip and ip != current["spec"]["clusterIP"]:
                raise Refused(422, "Invalid", "spec.clusterIP: Invalid value: field is immutable")
        if resource == "deployments":
            old_selector = current["spec"]["selector"]
            if (new.get("spec") or {}).get("selector") != old_selector:
                raise Refused(422, "Invalid", "spec.selector: Invalid value: field is immutable")
        body = copy.deepcopy(new)
        body.setdefault("metadata", {})
        body["metadata"].pop("resourceVersion", None)
        for key in ("uid", "creationTimestamp", "generation"):
            body["metadata"].pop(key, None)
        body.pop("status", None)
        self._validate(body)
        obj = copy.deepcopy(body)
        obj["metadata"].update(
            {
                "namespace": namespace,
                "uid": current["metadata"]["uid"],
                "creationTimestamp": current["metadata"]["creationTimestamp"],
            }
        )
        if resource == "deployments":
            obj["spec"].setdefault("replicas", 1)
            changed = obj["spec"] != current["spec"]
            obj["metadata"]["generation"] = current["metadata"]["generation"] + int(changed)
            revision = (current["metadata"].get("annotations") or {}).get(REVISION)
            if revision:
                obj["metadata"].setdefault("annotations", {})[REVISION] = revision
            obj["status"] = copy.deepcopy(current.get("status") or {})
        if resource == "services":
            obj["spec"]["clusterIP"] = current["spec"]["clusterIP"]
            obj["spec"]["clusterIPs"] = current["spec"]["clusterIPs"]
        self._bump(obj)
        self.objects[(resource, namespace, name)] = obj
        self._record(resource, "MODIFIED", obj)
        return obj

    def _delete(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        obj = self._require(resource, namespace, name)
        del self.objects[(resource, namespace, name)]
        self._bump(obj)
        self._record(resource, "DELETED", obj)
        if resource == "deployments":
            self.rollouts.pop(f"{namespace}/{name}", None)
            for pod in self._pods_of(obj):
                self._terminate(pod)  # garbage collection of the dependents (Background)
        return obj

    # --- HTTP ----------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        apps = "/apis/apps/v1/namespaces/{ns}/deployments"
        core = "/api/v1/namespaces/{ns}"
        return [
            Route(apps, self._collection("deployments"), methods=["GET", "POST"]),
            Route(
                apps + "/{name}",
                self._item("deployments"),
                methods=["GET", "PUT", "PATCH", "DELETE"],
            ),
            Route(
                apps + "/{name}/scale", self._answer(self._scale), methods=["GET", "PUT", "PATCH"]
            ),
            Route(core + "/services", self._collection("services"), methods=["POST"]),
            Route(
                core + "/services/{name}", self._item("services"), methods=["GET", "PUT", "DELETE"]
            ),
            Route(core + "/pods", self._collection("pods"), methods=["GET"]),
            Route(core + "/pods/{name}/log", self._log, methods=["GET"]),
            Route(
                "/{path:path}", self._unserved, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
            ),
        ]

    def _authorized(self, request: Request) -> Response | None:
        self.requests.append(
            Seen(request.method, request.url.path, dict(request.query_params.items()))
        )
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse(status_doc(401, "Unauthorized", "Unauthorized"), status_code=401)
        return None

    async def _unserved(self, request: Request) -> Response:
        self.unserved.append(f"{request.method} {request.url.path}")
        return JSONResponse(
            status_doc(404, "NotFound", "the emulation does not serve this"), status_code=404
        )

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body())
        except ValueError:
            raise Refused(400, "BadRequest", "the body is not JSON") from None
        if not isinstance(data, dict):
            raise Refused(400, "BadRequest", "the body is not an object")
        return data

    def _answer(self, call: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            refused = self._authorized(request)
            if refused is not None:
                return refused
            try:
                result = await call(request)
            except Refused as exc:
                self.refusals.append((f"{request.method} {request.url.path}", exc.doc["code"]))
                return JSONResponse(exc.doc, status_code=exc.doc["code"])
            if isinstance(result, Response):
                return result
            status, doc = result
            await self._notify()
            return JSONResponse(doc, status_code=status)

        return endpoint

    def _collection(self, resource: str) -> Any:
        async def call(request: Request) -> Any:
            ns = request.path_params["ns"]
            if request.method == "POST":
                return 201, self._create(resource, ns, await self._body(request))
            terms = _selector(request.query_params.get("labelSelector"))
            if request.query_params.get("watch") in ("1", "true", "True"):
                return self._watch(request, resource, ns, terms)
            items = [o for o in self._objects(resource, ns) if _matches(o, terms)]
            kind = {"deployments": "DeploymentList", "pods": "PodList"}.get(resource, "List")
            return 200, {
                "kind": kind,
                "apiVersion": "apps/v1" if resource == "deployments" else "v1",
                "metadata": {"resourceVersion": str(self.current)},
                "items": copy.deepcopy(items),
            }

        return self._answer(call)

    def _item(self, resource: str) -> Any:
        async def call(request: Request) -> Any:
            ns, name = request.path_params["ns"], request.path_params["name"]
            if request.method == "GET":
                return 200, copy.deepcopy(self._require(resource, ns, name))
            if request.method == "PUT":
                return 200, self._update(
                    resource, ns, name, await self._body(request), check_rv=True
                )
            if request.method == "PATCH":
                patch = await self._body(request)
                current = copy.deepcopy(self._require(resource, ns, name))
                current.pop("status", None)
                merged = _merge(current, patch)
                return 200, self._update(
                    resource,
                    ns,
                    name,
                    merged,
                    check_rv="resourceVersion" in (patch.get("metadata") or {}),
                )
            self._delete(resource, ns, name)
            return 200, status_doc(200, "", "", name=name, kind=resource)

        return self._answer(call)

    def _scale_doc(self, deployment: dict[str, Any]) -> dict[str, Any]:
        meta = deployment["metadata"]
        labels = deployment["spec"]["selector"]["matchLabels"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"],
                "creationTimestamp": meta["creationTimestamp"],
            },
            "spec": {"replicas": deployment["spec"]["replicas"]},
            "status": {
                "replicas": (deployment.get("status") or {}).get("replicas", 0),
                "selector": ",".join(f"{k}={v}" for k, v in labels.items()),
            },
        }

    async def _scale(self, request: Request) -> Any:
        ns, name = request.path_params["ns"], request.path_params["name"]
        deployment = self._require("deployments", ns, name)
        if request.method == "GET":
            return 200, self._scale_doc(deployment)
        body = await self._body(request)
        if request.method == "PUT":
            given = (body.get("metadata") or {}).get("resourceVersion")
            if given and given != deployment["metadata"]["resourceVersion"]:
                raise Refused(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on deployments.apps "{name}": the object '
                    "has been modified",
                    name=name,
                )
            replicas = (body.get("spec") or {}).get("replicas")
        else:
            replicas = _merge(self._scale_doc(deployment), body)["spec"].get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise Refused(422, "Invalid", "spec.replicas: Invalid value: must be >= 0")
        new = copy.deepcopy(deployment)
        new["spec"]["replicas"] = replicas
        new["metadata"]["resourceVersion"] = deployment["metadata"]["resourceVersion"]
        updated = self._update("deployments", ns, name, new, check_rv=True)
        return 200, self._scale_doc(updated)

    async def _log(self, request: Request) -> Response:
        refused = self._authorized(request)
        if refused is not None:
            return refused
        ns, name = request.path_params["ns"], request.path_params["name"]
        if self.get("pods", ns, name) is None:
            doc = status_doc(404, "NotFound", f'pods "{name}" not found')
            return JSONResponse(doc, status_code=404)
        pod = self.get("pods", ns, name)
        assert pod is not None
        follow = _go_bool(request.query_params.get("follow"))
        state = pod["status"]["containerStatuses"][0]["state"]
        if (state.get("waiting") or {}).get("reason") == "ContainerCreating":
            doc = status_doc(
                400,
                "BadRequest",
                f'container "agent" in pod "{name}" is waiting to start: ContainerCreating',
            )
            return JSONResponse(doc, status_code=400)
        lines = list(self.logs.get(name, []))
        total = len(lines)  # a follow sends what is written after these
        since = request.query_params.get("sinceSeconds")
        if since is not None:
            cutoff = datetime.now(UTC) - timedelta(seconds=int(since))
            lines = [x for x in lines if _stamp(x) >= cutoff]
        tail = request.query_params.get("tailLines")
        if tail is not None:
            lines = lines[-int(tail) :] if int(tail) else []
        stamped = _go_bool(request.query_params.get("timestamps"))

        def text(chunk: list[str]) -> str:
            return "".join(
                (f"{at} {line}\n" if stamped else f"{line}\n")
                for at, line in (x.split(" ", 1) for x in chunk)
            )

        if not follow:
            return PlainTextResponse(text(lines))
        return StreamingResponse(self._follow(ns, name, text(lines), total, text))

    async def _follow(
        self, ns: str, name: str, first: str, sent: int, text: Callable[[list[str]], str]
    ) -> AsyncIterator[bytes]:
        """``follow=true``: what is there, then each line as it is written, until the pod is
        gone (the container's end) or the server closes."""
        self.open_log_follows += 1
        epoch = self.epoch_of_log_follows
        try:
            if first:
                yield first.encode()
            while (
                self.get("pods", ns, name) is not None
                and not self.closing.is_set()
                and epoch == self.epoch_of_log_follows
            ):
                since = self._since()
                lines = self.logs.get(name, [])
                if len(lines) > sent:
                    yield text(lines[sent:]).encode()
                    sent = len(lines)
                    continue
                await self._wait(since, 1.0)
        finally:
            self.open_log_follows -= 1

    def _watch(
        self, request: Request, resource: str, namespace: str, terms: list[tuple[str, str, str]]
    ) -> Response:
        given = request.query_params.get("resourceVersion") or ""
        timeout = float(request.query_params.get("timeoutSeconds") or 1800)
        bookmarks = request.query_params.get("allowWatchBookmarks") in ("true", "1")
        epoch = self.epoch_of_watches

        def line(kind_of_event: str, obj: dict[str, Any]) -> bytes:
            return (json.dumps({"type": kind_of_event, "object": obj}) + "\n").encode()

        async def stream() -> AsyncIterator[bytes]:
            self.open_watches += 1
            try:
                if given in ("", "0"):
                    after = self.current
                    for obj in self._objects(resource, namespace):
                        if _matches(obj, terms):
                            yield line("ADDED", copy.deepcopy(obj))
                else:
                    after = int(given)
                    if after < self.compacted:
                        gone = status_doc(
                            410, "Expired", f"too old resource version: {after} ({self.compacted})"
                        )
                        yield line("ERROR", gone)
                        return
                loop = asyncio.get_running_loop()
                end = loop.time() + timeout
                while True:
                    # a watch the server has ended delivers nothing more (it may wake up only
                    # after the end, with events appended meanwhile)
                    if self.closing.is_set() or epoch != self.epoch_of_watches:
                        return
                    since = self._since()
                    for rv, kind, kind_of_event, obj in [] if self.frozen else list(self.events):
                        if rv <= after or kind != resource:
                            continue
                        after = rv
                        if obj["metadata"].get("namespace") == namespace and _matches(obj, terms):
                            yield line(kind_of_event, obj)
                    if self.closing.is_set() or epoch != self.epoch_of_watches:
                        return
                    left = end - loop.time()
                    if left <= 0:
                        if bookmarks:
                            mark = {
                                "kind": "Bookmark",
                                # a frozen watch delivers no progress, bookmarks included
                                "metadata": {
                                    "resourceVersion": str(
                                        after if self.frozen else max(after, self.current)
                                    )
                                },
                            }
                            yield line("BOOKMARK", mark)
                        return
                    await self._wait(since, left)
            finally:
                self.open_watches -= 1

        return StreamingResponse(stream(), media_type="application/json")

    # --- the Deployment controller -------------------------------------------------------------

    def _pods_of(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        ns = deployment["metadata"]["namespace"]
        terms = [(k, "=", v) for k, v in deployment["spec"]["selector"]["matchLabels"].items()]
        return [p for p in self._objects("pods", ns) if _matches(p, terms)]

    def _log_line(self, pod: str, text: str) -> None:
        # stamped as the kubelet does: the node's real time, RFC 3339 with nanoseconds
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
        self.logs.setdefault(pod, []).append(f"{stamp} {text}")

    async def cut_log_follows(self) -> None:
        """End every open ``follow=true`` log stream (the clients reconnect)."""
        self.epoch_of_log_follows += 1
        await self._notify()

    async def write_log(self, pod: str, *lines: str) -> None:
        """The pod's container prints ``lines`` (followers of its log get them)."""
        for text in lines:
            self._log_line(pod, text)
        await self._notify()

    def _save_pod(self, pod: dict[str, Any], kind_of_event: str = "MODIFIED") -> None:
        meta = pod["metadata"]
        self._bump(pod)
        self.objects[("pods", meta["namespace"], meta["name"])] = pod
        self._record("pods", kind_of_event, pod)

    def _terminate(self, pod: dict[str, Any]) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            return
        pod["metadata"]["deletionTimestamp"] = self.now()
        self._log_line(pod["metadata"]["name"], "received SIGTERM; shutting down")
        self._save_pod(pod)

    def _new_pod(self, deployment: dict[str, Any], template_hash: str) -> dict[str, Any]:
        meta = deployment["metadata"]
        template = copy.deepcopy(deployment["spec"]["template"])
        name = f"{meta['name']}-{template_hash}-{next(self.pod_numbers):05x}"
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "uid": str(uuid.uuid4()),
                "creationTimestamp": self.now(),
                "labels": {**template["metadata"].get("labels", {}), TEMPLATE_HASH: template_hash},
                "annotations": template["metadata"].get("annotations", {}),
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": f"{meta['name']}-{template_hash}",
                        "uid": meta["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": template["spec"],
            "status": {
                "phase": "Pending",
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [
                    {
                        "name": c["name"],
                        "image": c["image"],
                        "ready": False,
                        "restartCount": 0,
                        "started": False,
                        "state": {"waiting": {"reason": "ContainerCreating"}},
                    }
                    for c in template["spec"]["containers"]
                ],
            },
        }
        self._save_pod(pod, "ADDED")
        self._log_line(name, f"pod created from {template_hash}")
        return pod

    def _advance_pod(self, pod: dict[str, Any]) -> bool:
        """One step of a pod's life; True when it became ready."""
        status = pod["status"]
        container = status["containerStatuses"][0]
        image = container["image"]
        name = pod["metadata"]["name"]
        if image in self.crashing_images:
            container["restartCount"] += 1
            status["phase"] = "Running"
            status.setdefault("startTime", self.now())
            container["lastState"] = {
                "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": self.now()}
            }
            container["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off restarting failed container {container['name']}",
                }
            }
            self._log_line(name, "Traceback (most recent call last): boom")
            self._save_pod(pod)
            return False
        if status["phase"] == "Running" and container["ready"]:
            return False
        status["phase"] = "Running"
        status["startTime"] = status.get("startTime") or self.now()
        status["conditions"] = [
            {"type": "Ready", "status": "True", "lastTransitionTime": self.now()}
        ]
        container.update(
            {"ready": True, "started": True, "state": {"running": {"startedAt": self.now()}}}
        )
        self._log_line(
            name, f"listening on port {pod['spec']['containers'][0]['ports'][0]['containerPort']}"
        )
        self._save_pod(pod)
        return True

    @staticmethod
    def _ready(pod: dict[str, Any]) -> bool:
        return any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in pod["status"].get("conditions", [])
        )

    def _reconcile(self, deployment: dict[str, Any]) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        key = f"{meta['namespace']}/{meta['name']}"
        rollout = self.rollouts.setdefault(key, Rollout(progress_at=self.clock))
        status = copy.deepcopy(deployment.get("status") or {})
        new_meta = copy.deepcopy(meta)
        template_hash = _template_hash(spec["template"])
        progressed = False
        if status.get("observedGeneration") != meta["generation"]:
            status["observedGeneration"] = meta["generation"]
            rollout.progress_at = self.clock
            progressed = True
            if (
                template_hash not in rollout.revisions
                or max(rollout.revisions.values()) != rollout.revisions[template_hash]
            ):
                rollout.revisions[template_hash] = max(rollout.revisions.values(), default=0) + 1
            new_meta.setdefault("annotations", {})[REVISION] = str(rollout.revisions[template_hash])
        desired = spec["replicas"]
        pods = self._pods_of(deployment)
        for pod in pods:  # terminating pods are gone one step later
            if pod["metadata"].get("deletionTimestamp"):
                self._bump(pod)
                del self.objects[("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])]
                self._record("pods", "DELETED", pod)
        pods = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        for pod in pods:
            if (
                pod["status"]["phase"] == "Pending"
                or pod["status"]["containerStatuses"][0]["image"] in self.crashing_images
            ):
                progressed = self._advance_pod(pod) or progressed
        new = [p for p in pods if p["metadata"]["labels"].get(TEMPLATE_HASH) == template_hash]
        old = [p for p in pods if p not in new]
        if spec["strategy"]["type"] == "Recreate":
            if old:
                for pod in old:
                    self._terminate(pod)
                progressed = True
            elif not [
                p for p in self._pods_of(deployment) if p["metadata"].get("deletionTimestamp")
            ]:
                while len(new) < desired:
                    new.append(self._new_pod(deployment, template_hash))
                    progressed = True
        else:
            rolling = spec["strategy"].get("rollingUpdate") or {}
            surge = int(rolling.get("maxSurge", 1))
            unavailable = int(rolling.get("maxUnavailable", 0))
            for pod in [p for p in old if not self._ready(p)]:  # unhealthy old ones first
                self._terminate(pod)
                old.remove(pod)
                progressed = True
            ready = sum(1 for p in new + old if self._ready(p))
            for pod in list(old):
                if ready - 1 >= desired - unavailable:
                    self._terminate(pod)
                    old.remove(pod)
                    ready -= 1
                    progressed = True
            if len(new) < desired and len(new) + len(old) < desired + surge:
                new.append(self._new_pod(deployment, template_hash))
                progressed = True
        extra = len(new) - desired
        if extra > 0:
            for pod in sorted(new, key=self._ready)[:extra]:
                self._terminate(pod)
                new.remove(pod)
            progressed = True
        live = new + old
        ready_count = sum(1 for p in live if self._ready(p))
        available = ready_count
        updated = len(new)
        status.update(
            {
                "replicas": len(live),
                "updatedReplicas": updated,
                "readyReplicas": ready_count,
                "availableReplicas": available,
                "unavailableReplicas": max(desired - available, 0),
            }
        )
        for k in (
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
            "updatedReplicas",
            "replicas",
        ):
            if not status[k]:
                status.pop(k)
        rs = f"{meta['name']}-{template_hash}"
        conditions = {c["type"]: c for c in status.get("conditions", [])}
        strategy_unavailable = (
            desired
            if spec["strategy"]["type"] == "Recreate"
            else int((spec["strategy"].get("rollingUpdate") or {}).get("maxUnavailable", 0))
        )
        ok = available >= desired - strategy_unavailable
        self._condition(
            conditions,
            "Available",
            ok,
            "MinimumReplicasAvailable" if ok else "MinimumReplicasUnavailable",
            "Deployment has minimum availability."
            if ok
            else "Deployment does not have minimum availability.",
        )
        complete = updated == desired and len(live) == desired and available == desired
        progressing = conditions.get("Progressing")
        if complete:
            rollout.progress_at = self.clock
            self._condition(
                conditions,
                "Progressing",
                True,
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs}" has successfully progressed.',
            )
        elif progressed:
            rollout.progress_at = self.clock
            self._condition(
                conditions,
                "Progressing",
                True,
                "ReplicaSetUpdated",
                f'ReplicaSet "{rs}" is progressing.',
            )
        elif progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
            pass
        elif self.clock - rollout.progress_at > spec.get("progressDeadlineSeconds", 600):
            self._condition(
                conditions,
                "Progressing",
                False,
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs}" has timed out progressing.',
            )
        status["conditions"] = [conditions[k] for k in sorted(conditions)]
        if status != deployment.get("status") or new_meta != meta:
            updated_doc = copy.deepcopy(deployment)
            updated_doc["status"] = status
            updated_doc["metadata"] = new_meta
            self._bump(updated_doc)
            self.objects[("deployments", meta["namespace"], meta["name"])] = updated_doc
            self._record("deployments", "MODIFIED", updated_doc)

    def _condition(
        self, conditions: dict[str, dict[str, Any]], kind: str, ok: bool, reason: str, message: str
    ) -> None:
        current = conditions.get(kind)
        value = "True" if ok else "False"
        if current is not None and current["status"] == value and current["reason"] == reason:
            return
        conditions[kind] = {
            "type": kind,
            "status": value,
            "reason": reason,
            "message": message,
            "lastUpdateTime": self.now(),
            "lastTransitionTime": self.now()
            if current is None or current["status"] != value
            else current["lastTransitionTime"],
        }

    async def step(self, count: int = 1) -> None:
        """Run the controller ``count`` times (each one ``step_seconds`` of emulated time)."""
        for _ in range(count):
            self.clock += self.step_seconds
            for key in sorted(self.objects):
                if key[0] == "deployments" and key in self.objects:
                    self._reconcile(self.objects[key])
            alive = {(k[1], k[2]) for k in self.objects if k[0] == "deployments"}
            for key in sorted(self.objects):  # pods whose Deployment is gone
                if key[0] != "pods" or key not in self.objects:
                    continue
                pod = self.objects[key]
                owner = pod["metadata"]["labels"].get("app.kubernetes.io/instance")
                if (key[1], owner) not in alive:
                    if pod["metadata"].get("deletionTimestamp"):
                        del self.objects[key]
                        self._bump(pod)
                        self._record("pods", "DELETED", pod)
                    else:
                        self._terminate(pod)
            await self._notify()

    async def run(self, interval: float) -> None:
        """Step the controller every ``interval`` seconds (real time) until cancelled."""
        while True:
            await self.step()
            await asyncio.sleep(interval)


def _stamp(line: str) -> datetime:
    return datetime.strptime(line.split(" ", 1)[0][:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


def _go_bool(value: str | None) -> bool:
    """A boolean query parameter as the API server reads it (Go's ``strconv.ParseBool``:
    the Python client sends ``True``)."""
    return value in ("1", "t", "T", "true", "TRUE", "True")


def write_kubeconfig(path: Path, url: str, *, token: str = TOKEN) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emulated", "cluster": {"server": url}}],
        "users": [{"name": "agentdeck", "user": {"token": token}}],
        "contexts": [{"name": "emulated", "context": {"cluster": "emulated", "user": "agentdeck"}}],
        "current-context": "emulated",
    }
    path.write_text(json.dumps(doc))
    return path


@asynccontextmanager
async def serving(api: ApiServer) -> AsyncIterator[str]:
    """Serve the emulation on a free 127.0.0.1 port; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    config = uvicorn.Config(api.app, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        api.closing.set()
        await api._notify()
        server.should_exit = True
        server.force_exit = True
        await task
        sock.close()
