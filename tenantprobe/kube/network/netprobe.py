"""The program inside a probe pod: TCP/UDP servers on the pod's ports, and a client that probes many targets.

Standard library only and run as a script (``python netprobe.py ...``), so it starts fast in a
network namespace and copies into any image with Python. The client answers one JSON line per
target, so a batch of probes from one pod costs one exec::

    python netprobe.py serve --tcp 8080 --udp 8081        # prints "ready" once every port is bound
    python netprobe.py connect --timeout 1 10.1.0.5:8080/TCP 10.1.0.6:8081/UDP
    {"target": "10.1.0.5:8080/TCP", "result": "connected"}
    {"target": "10.1.0.6:8081/UDP", "result": "refused"}

Results: ``connected`` (a TCP handshake, or a UDP echo came back), ``refused`` (a RST or an
ICMP unreachable: what a REJECTing enforcer sends, and also what a closed port sends, which is
why servers are pre-checked), ``timeout`` (nothing came back: a DROPping enforcer), ``error``.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

UDP_PAYLOAD = b"tenantprobe"


def _serve_tcp(sock: socket.socket) -> None:
    while True:
        conn, _ = sock.accept()
        conn.close()


def _serve_udp(sock: socket.socket) -> None:
    while True:
        data, peer = sock.recvfrom(2048)
        sock.sendto(data, peer)


def serve(tcp: Sequence[int], udp: Sequence[int]) -> None:
    sockets: list[tuple[socket.socket, bool]] = []
    for port in tcp:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))  # noqa: S104 - the pod's own namespace: every address is the pod's
        s.listen(128)
        sockets.append((s, True))
    for port in udp:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))  # noqa: S104
        sockets.append((s, False))
    threads = [
        threading.Thread(target=_serve_tcp if is_tcp else _serve_udp, args=(s,), daemon=True) for s, is_tcp in sockets
    ]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    for thread in threads:
        thread.join()


def probe(target: str, timeout: float) -> str:
    """``connected``, ``refused``, ``timeout`` or ``error: ...`` for one ``host:port/PROTO``."""
    address, _, protocol = target.partition("/")
    host, _, port_text = address.rpartition(":")
    port = int(port_text)
    try:
        if protocol.upper() == "TCP":
            with socket.create_connection((host, port), timeout=timeout):
                return "connected"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.connect((host, port))  # a connected UDP socket reports ICMP unreachable as ECONNREFUSED
            s.send(UDP_PAYLOAD)
            return "connected" if s.recv(2048) == UDP_PAYLOAD else "error: unexpected reply"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError as exc:
        return f"error: {exc}"


def connect(targets: Sequence[str], timeout: float) -> None:
    with ThreadPoolExecutor(max_workers=min(64, max(1, len(targets)))) as pool:
        for target, result in zip(targets, pool.map(lambda t: probe(t, timeout), targets), strict=True):
            print(json.dumps({"target": target, "result": result}), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("serve", help="serve TCP (accept) and UDP (echo) ports")
    server.add_argument("--tcp", type=int, action="append", default=[])
    server.add_argument("--udp", type=int, action="append", default=[])
    client = commands.add_parser("connect", help="probe host:port/PROTO targets, one JSON line each")
    client.add_argument("--timeout", type=float, default=1.0)
    client.add_argument("targets", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.tcp, args.udp)
    else:
        connect(args.targets, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
