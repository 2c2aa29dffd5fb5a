"""Whether the Hugging Face hub can be reached now: a socket connect, seconds at most, so an
offline machine fails fast instead of after a minute of retries (datasets and models)."""

from __future__ import annotations


def hub_reachable() -> bool:
    """Whether the hub answers."""
    try:
        check_hub_reachable()
    except ConnectionError:
        return False
    return True


def check_hub_reachable(timeout: float = 3.0) -> None:
    """Raise ``ConnectionError`` (saying why) when the hub cannot be reached."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise ConnectionError("HF_HUB_OFFLINE is set")
    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
    except OSError as error:
        raise ConnectionError(f"cannot reach {url.hostname}: {error}") from None
