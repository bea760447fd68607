"""The kubelet's exec endpoint, for the node agent's pods: the apiserver proxies ``pods/exec`` here.

On any cluster the apiserver forwards an exec into a pod to the kubelet of the pod's node, at
``https://<node address>:<kubeletEndpoint port>/exec/<namespace>/<pod>/<container>?command=...``,
and passes a websocket that speaks ``v4.channel.k8s.io`` through unchanged. Serving that route
lets the network suite's cluster path (:meth:`KubeClient.exec`, the one a real cluster uses) run
end to end against a real kube-apiserver without a kubelet.

It serves what probing needs and nothing more: the caller must present a client certificate of
the CA that issued the apiserver's ``--kubelet-client-certificate`` (its own CA, which signs
nothing else), and the only command it runs is the probe client, ``python3 .../netprobe.py
connect ...``, inside the pod's network namespace.

Frames follow the kubelet: one channel byte, then data (1 stdout, 2 stderr, 3 the final
``Status``: ``Success``, or ``Failure`` with the exit code as an ``ExitCode`` cause).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from tenantprobe.child import free_port
from tenantprobe.errors import TargetError
from tenantprobe.kube.local.pki import CertificateAuthority
from tenantprobe.kube.network import netprobe

PROTOCOL = "v4.channel.k8s.io"
STDOUT, STDERR, STATUS = 1, 2, 3
EXEC_TIMEOUT = 120.0


def _status(code: int, message: str = "") -> bytes:
    if code == 0:
        status: dict[str, object] = {"metadata": {}, "status": "Success"}
    else:
        status = {
            "metadata": {},
            "status": "Failure",
            "message": message or f"command terminated with non-zero exit code: {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
        }
    return bytes([STATUS]) + json.dumps(status).encode()


def local_command(command: list[str]) -> list[str] | None:
    """The probe client's command with this machine's interpreter and script, or None for any other command."""
    if (
        len(command) >= 3
        and Path(command[0]).name.startswith("python")
        and command[1].endswith("/netprobe.py")
        and command[2] == "connect"
    ):
        return [sys.executable, netprobe.__file__, *command[2:]]
    return None


class ExecServer:
    """HTTPS + websocket on ``address``; ``netns_of(namespace, pod)`` says where a pod's commands run."""

    def __init__(
        self, address: str, client_ca: Path, workdir: Path, netns_of: Callable[[str, str], str | None]
    ) -> None:
        self.address = address
        self.port = free_port()
        self.netns_of = netns_of
        pair = CertificateAuthority("tenantprobe-node-agent").issue("node-agent", server_ips=[address], server=True)
        self._cert, self._key = workdir / "exec.crt", workdir / "exec.key"
        self._cert.write_bytes(pair.cert_pem)
        self._key.write_bytes(pair.key_pem)
        self._key.chmod(0o600)
        app = Starlette(routes=[WebSocketRoute("/exec/{namespace}/{pod}/{container}", self._exec)])
        config = uvicorn.Config(
            app,
            host=address,
            port=self.port,
            ssl_certfile=str(self._cert),
            ssl_keyfile=str(self._key),
            ssl_ca_certs=str(client_ca),
            ssl_cert_reqs=ssl.CERT_REQUIRED,
            ws="wsproto",
            lifespan="off",
            log_level="warning",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="node-agent-exec", daemon=True)

    def start(self) -> ExecServer:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise TargetError(f"the node agent's exec endpoint did not start on {self.address}:{self.port}")
            self._thread.join(0.05)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    async def _exec(self, websocket: WebSocket) -> None:
        if PROTOCOL not in websocket.scope.get("subprotocols", []):
            await websocket.close(code=1002, reason=f"this endpoint speaks {PROTOCOL} only")
            return
        await websocket.accept(subprotocol=PROTOCOL)
        params = websocket.path_params
        netns = self.netns_of(params["namespace"], params["pod"])
        command = local_command(websocket.query_params.getlist("command"))
        if netns is None:
            await websocket.send_bytes(_status(1, f"pod {params['namespace']}/{params['pod']} is not on this node"))
        elif command is None:
            await websocket.send_bytes(_status(126, "this node agent runs only the probe client (netprobe.py connect)"))
        else:
            await websocket.send_bytes(await self._run(websocket, ["ip", "netns", "exec", netns, *command]))
        await websocket.close()

    @staticmethod
    async def _run(websocket: WebSocket, command: list[str]) -> bytes:
        """Streams the command's output to the websocket; the final status frame."""
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )

        async def pump(stream: asyncio.StreamReader | None, channel: int) -> None:
            while stream is not None and (chunk := await stream.read(65536)):
                await websocket.send_bytes(bytes([channel]) + chunk)

        try:
            await asyncio.wait_for(
                asyncio.gather(pump(process.stdout, STDOUT), pump(process.stderr, STDERR), process.wait()),
                EXEC_TIMEOUT,
            )
        except TimeoutError:
            return _status(124, f"the command ran longer than {EXEC_TIMEOUT:.0f} s")
        finally:  # also when the caller went away mid-stream: no process outlives its exec
            if process.returncode is None:
                process.kill()
                await process.wait()
        return _status(process.returncode or 0)
