"""Ray Serve ingress for a TypeScript serve deployment (inference.md §2.2, Ray backend).

Each Ray Serve replica starts one Node process running the SDK's serve worker (serve/worker.ts)
and forwards HTTP requests to it over Node's IPC channel: a socket pair whose child end Node
opens through NODE_CHANNEL_FD, one JSON message per line. Ray places the replicas, applies
`num_replicas` and actor options, and routes requests by their `serve_multiplexed_model_id`
header to replicas that already hold that model. Nothing here knows the deployment's code.
"""

import asyncio
import itertools
import json
import os
import socket
import subprocess

from ray import serve
from starlette.requests import Request
from starlette.responses import Response


def _trim(path):
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def _json(body, status):
    return Response(json.dumps(body), status_code=status, media_type="application/json")


@serve.deployment
class TypeScriptReplica:
    def __init__(self, command, module_path, export_name, init_args, routes, max_models, node_modules):
        # ESM imports ignore NODE_PATH: the plugin finds synapse-sdk through a node_modules link.
        if not os.path.lexists("node_modules"):
            os.symlink(node_modules, "node_modules")
        self._routes = routes
        self._init = {
            "type": "init",
            "modulePath": os.path.abspath(module_path),
            "exportName": export_name,
            "initArgs": init_args,
            "maxModelsPerReplica": max_models,
        }

        # The worker loads and caches the models itself (up to max_models, LRU); this records
        # them on the replica with the same limit, so Ray sends a model's requests where it is.
        async def _load_model(model_id):
            return model_id

        self._model = serve.multiplexed(max_num_models_per_replica=max_models)(_load_model)
        ours, theirs = socket.socketpair()
        env = dict(os.environ, NODE_CHANNEL_FD=str(theirs.fileno()), NODE_CHANNEL_SERIALIZATION_MODE="json")
        self._process = subprocess.Popen(command, env=env, pass_fds=[theirs.fileno()])
        theirs.close()
        self._socket = ours
        self._ids = itertools.count(1)
        self._pending = {}
        self._ready = None
        self._dead = None  # why the worker is gone, once it is

    async def _start(self):
        """Sends `init` once and waits for the worker's answer (the class constructed)."""
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
            self._reader, self._writer = await asyncio.open_unix_connection(sock=self._socket)
            asyncio.get_running_loop().create_task(self._read())
            self._send(self._init)
        message = await self._ready
        if message["type"] != "ready":
            raise RuntimeError(message.get("message", "serve worker failed to start"))

    def _send(self, message):
        self._writer.write((json.dumps(message) + "\n").encode())

    async def _read(self):
        try:
            while line := await self._reader.readline():
                message = json.loads(line)
                if message["type"] in ("ready", "init-error") and not self._ready.done():
                    self._ready.set_result(message)
                elif message["type"] == "response":
                    future = self._pending.pop(message["id"], None)
                    if future is not None and not future.done():  # its caller may have gone
                        future.set_result(message)
            self._dead = "serve worker exited"
        except Exception as e:  # a broken channel: nothing more can be answered
            self._dead = f"serve worker channel failed: {e!r}"
        finally:
            self._dead = self._dead or "serve worker channel closed"
            if not self._ready.done():
                self._ready.set_result({"type": "init-error", "message": self._dead})
            for future in self._pending.values():
                if not future.done():
                    future.set_result({"status": 500, "body": {"detail": "Replica process exited"}})
            self._pending.clear()

    def check_health(self):
        """Ray replaces a replica whose worker is gone."""
        code = self._process.poll()
        if code is not None or self._dead:
            raise RuntimeError(self._dead or f"serve worker exited with code {code}")

    async def __call__(self, request: Request):
        if self._dead or self._process.poll() is not None:
            return _json({"detail": "Replica process exited"}, 503)
        await self._start()
        root = request.scope.get("root_path", "")
        path = request.scope["path"]
        rest = path[len(root):] if root and path.startswith(root) else path
        route = next(
            (r for r in self._routes if r["method"] == request.method and _trim(r["path"]) == _trim(rest or "/")),
            None,
        )
        if route is None:
            return _json({"detail": "Not Found"}, 404)
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return _json({"detail": "Invalid JSON body"}, 400)
        model_id = serve.get_multiplexed_model_id() or None
        if model_id:
            await self._model(model_id)
        if self._dead:  # checked with no await before the registration: the reader fails it later
            return _json({"detail": "Replica process exited"}, 503)
        id_ = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[id_] = future
        try:
            self._send({
                "type": "request",
                "id": id_,
                "handler": route["handler"],
                "body": body,
                "request": {
                    "method": request.method,
                    "path": rest or "/",
                    "query": dict(request.query_params),
                    "headers": dict(request.headers),
                },
                "multiplexedModelId": model_id,
            })
            reply = await future
        finally:
            self._pending.pop(id_, None)
        return _json(reply.get("body"), reply["status"])

    def __del__(self):
        self._process.terminate()


def app(args):
    """The application builder named by the Serve config's `import_path`."""
    return TypeScriptReplica.bind(**args)
