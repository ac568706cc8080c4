"""The guard of tests/netguard.py: off-machine addresses are refused, this machine's are not."""

from __future__ import annotations

import socket

import pytest

from .netguard import OffMachine


def test_an_off_machine_address_is_refused_and_loopback_is_not():
    with socket.socket() as s, pytest.raises(OffMachine, match="never reach the network"):
        s.connect(("93.184.216.34", 443))
    with socket.socket(socket.AF_INET6) as s, pytest.raises(OffMachine):
        s.connect_ex(("2606:2800:220:1::", 443, 0, 0))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as c:
            c.connect(server.getsockname())  # loopback: allowed
