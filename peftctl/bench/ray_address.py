"""Whether a Ray cluster answers at ``--ray-address``, asked within seconds before anything is
written (``ray.init`` itself retries an unreachable or wrong address for minutes, logging each
try), and Ray's own stderr held back while it connects."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from typing import NamedTuple

from peftctl.errors import PeftctlError

#: Seconds the cluster's address may take to answer before it counts as unreachable
#: (``ray.init`` itself retries an unreachable or wrong address for minutes, logging each try).
PROBE_SECONDS = 3.0
_CLIENT_PORT = 10001  # Ray Client's default (ray://HOST)
RAY_ADVICE = (
    "check --ray-address, start a cluster with `ray start --head` (it prints the address to "
    "pass), or use --executor local"
)


class _Endpoint(NamedTuple):
    """The TCP endpoint ``ray.init(address)`` connects to, and how the user named it."""

    host: str
    port: int
    shown: str
    client: bool  # a Ray Client server (ray://), not a GCS


def check_ray_address(address: str | None) -> None:
    """Fail in one line, within seconds, when no Ray cluster answers at ``address`` (``None``
    or ``auto``: RAY_ADDRESS, else the cluster `ray start` last started here; HOST:PORT: a
    GCS; ``ray://HOST[:PORT]``: a Ray Client server). ``local`` starts a new cluster."""
    endpoint = _ray_endpoint(address)
    if endpoint is None:
        return
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=PROBE_SECONDS):
            pass
    except OSError as error:
        why = _why_unreachable(error)
    else:
        why = _rpc_refusal(endpoint)
    if why:
        raise PeftctlError(
            f"--executor ray: no Ray cluster answers at {endpoint.shown} ({why}); {RAY_ADVICE}"
        )


def _ray_endpoint(address: str | None) -> _Endpoint | None:
    """Where ``ray.init(address)`` connects; ``None`` when there is nothing to check (a new
    local cluster, a scheme other than ray://, a Ray without the lookup ``auto`` needs)."""
    if address in (None, "", "auto"):
        return _auto_endpoint()
    if address == "local":
        return None
    scheme, _, rest = address.rpartition("://")
    if scheme and scheme != "ray":
        return None  # another Ray Client scheme: ray.init decides
    rest = rest.split("/", 1)[0]
    host, colon, port = rest.rpartition(":")
    if scheme and (not colon or "]" in port):  # ray://HOST (an IPv6 [HOST] holds colons)
        host, port = rest, str(_CLIENT_PORT)
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise PeftctlError(
            f"--ray-address {address}: expected HOST:PORT (the address `ray start --head` "
            "prints, port 6379 by default) or ray://HOST[:PORT]"
        )
    return _Endpoint(host, int(port), address, client=bool(scheme))


def _auto_endpoint() -> _Endpoint | None:
    """Where ``ray.init(address="auto")`` connects: RAY_ADDRESS, else the cluster recorded by
    the last `ray start` here (Ray's own lookup)."""
    env = os.environ.get("RAY_ADDRESS", "")
    if env and env != "auto":
        found = _ray_endpoint(env)
        return found and found._replace(shown=f"RAY_ADDRESS={env}")
    try:
        from ray._private.services import canonicalize_bootstrap_address
    except ImportError:
        return None
    try:
        with stderr_held_back(replay=False):  # its node-IP lookup logs warnings
            address = canonicalize_bootstrap_address("auto")
    except ConnectionError:
        raise PeftctlError(
            "--executor ray: no Ray cluster found (no --ray-address or RAY_ADDRESS, and none "
            "started on this machine); start one with `ray start --head` and pass the address "
            "it prints to --ray-address, or use --executor local"
        ) from None
    except Exception:  # Ray's private lookup changed: ray.init reports what is wrong
        return None
    found = _ray_endpoint(address) if address else None
    return found and found._replace(shown=f"{address}, where `ray start` last started one")


def _why_unreachable(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
        return f"no answer within {PROBE_SECONDS:g} s"
    if isinstance(error, socket.gaierror):
        return "unknown host"
    return error.strerror or first_line(error)


def _rpc_refusal(endpoint: _Endpoint) -> str:
    """Why the gRPC server at ``endpoint`` is no Ray cluster, or ``""``. One call that changes
    nothing, named by this Ray's own protocol files: the GCS's GetClusterId (``ray.init``'s
    first call), or the Ray Client server's ClusterInfo. Only a refusal counts: an answer,
    even an error (no auth token, say), is left to ``ray.init``. Not asked with TLS."""
    if os.environ.get("RAY_USE_TLS", "0").lower() not in ("0", "false", ""):
        return ""
    try:
        import grpc

        if endpoint.client:
            from ray.core.generated import ray_client_pb2 as protocol

            service_name, method_name = "RayletDriver", "ClusterInfo"
        else:
            from ray.core.generated import gcs_service_pb2 as protocol

            service_name, method_name = "NodeInfoGcsService", "GetClusterId"
        service = protocol.DESCRIPTOR.services_by_name[service_name]
        method = service.methods_by_name[method_name]
    except (ImportError, KeyError, AttributeError):
        return ""
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    with grpc.insecure_channel(f"{host}:{endpoint.port}") as channel:
        try:
            call = channel.unary_unary(f"/{service.full_name}/{method.name}")
            call(b"", timeout=PROBE_SECONDS)  # an empty request
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED:
                wanted = "Ray Client server" if endpoint.client else "Ray GCS"
                return f"something answers there, but not a {wanted}: another port or service?"
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return f"no gRPC answer within {PROBE_SECONDS:g} s"
    return ""


@contextlib.contextmanager
def stderr_held_back(replay: bool = True) -> Iterator[None]:
    """Hold back what is written to file descriptor 2 (Ray's C++ core logs each failed
    connection try there, past Python's logging): written out after a success if ``replay``,
    dropped with an error (which the caller reports in one line)."""
    sys.stderr.flush()
    with tempfile.TemporaryFile() as held:
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        if replay:
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            sys.stderr.flush()


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
