"""``foreman local serve`` restarted at once on the same port (issue 25, item 5): the stopped server's connections in
TIME-WAIT must not keep the port, as they did for about 60 s; a port another process listens on is still refused."""

from __future__ import annotations

import socket

import pytest

from foreman.serve import ServeError, check_port


def _port_with_connections_in_time_wait() -> int:
    """A loopback port whose listener served a connection, closed it first (so its side waits in TIME-WAIT), and
    stopped: what a stopped ``foreman local serve`` leaves."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = int(listener.getsockname()[1])
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    served.close()  # the server closes first: its end of the connection goes to TIME-WAIT
    client.recv(1)
    client.close()
    listener.close()
    return port


def test_a_port_whose_last_server_just_stopped_can_be_listened_on_again() -> None:
    port = _port_with_connections_in_time_wait()
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(OSError, match="in use"):  # what the probe did before: bind without SO_REUSEADDR
        plain.bind(("127.0.0.1", port))
    plain.close()

    check_port("127.0.0.1", port)  # no ServeError


def test_a_port_another_process_listens_on_is_still_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]

        with pytest.raises(ServeError, match=f"cannot listen on 127.0.0.1:{port}: Address already in use"):
            check_port("127.0.0.1", port)
