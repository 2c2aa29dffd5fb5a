"""Listening addresses for the commands that serve (``ui``, ``serve``)."""

from __future__ import annotations

from peftctl.errors import PeftctlError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_port_free(host: str, port: int) -> None:
    """A one-line error when ``port`` on ``host`` cannot be listened on (gradio's own is a
    40-line traceback)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise PeftctlError(f"--host {host}: no such address ({error.strerror})") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(address)
        except OSError as error:
            raise PeftctlError(
                f"--port {port} on {host} cannot be used ({error.strerror}); pass a free --port"
            ) from None
