"""No test reaches the internet: a connection from the test process to an address off this machine fails at
once with a clear error (a stand-in on 127.0.0.1 answers for Civitai and the hosts). Servers a test starts
in other processes are given local addresses by the tests themselves."""

from __future__ import annotations

import ipaddress
import socket

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class OffMachine(OSError):
    pass


def _check(sock: socket.socket, address) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return  # a Unix socket, or another family: on this machine
    try:
        local = ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except ValueError:
        local = False
    if not local:
        raise OffMachine(f"tests never reach the network: a connection to {address[0]}:{address[1]} was refused")


def _connect(self, address):
    _check(self, address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    _check(self, address)
    return _real_connect_ex(self, address)


def install() -> None:
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
