"""Review M7 against a real `casetalk serve`: idle and half-sent connections are closed after
CASETALK_IDLE_TIMEOUT while the server goes on answering, and visitors' pages store no sessions."""
import select
import socket
import sqlite3
import time

import requests

from conftest import CaseTalkServer

IDLE = 5      # seconds, for the test; the default is 30
HELD = 200


def closed_by_server(sock):
    """True once the server has closed its end (a read returns nothing or the connection is reset)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(4096) == b""
    except (ConnectionResetError, OSError):
        return True


def test_idle_and_half_sent_connections_are_closed_while_the_server_answers():
    server = CaseTalkServer({"CASETALK_IDLE_TIMEOUT": str(IDLE)}, name="idle")
    held = []
    try:
        for n in range(HELD):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            if n % 2:   # half of them start a request and never finish its headers
                sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            held.append(sock)
        # The server answers others while all of them are open.
        assert requests.get(server.base + "/login", timeout=5).status_code == 200
        time.sleep(1)
        assert not any(closed_by_server(sock) for sock in held), "nothing is closed before the timeout"

        deadline = time.monotonic() + IDLE + 10
        while time.monotonic() < deadline and not all(closed_by_server(sock) for sock in held):
            time.sleep(0.5)
        still_open = sum(not closed_by_server(sock) for sock in held)
        assert still_open == 0, f"{still_open} of {HELD} connections still open {IDLE + 10} s after going quiet"
        assert requests.get(server.base + "/healthz", timeout=5).status_code == 200
    finally:
        for sock in held:
            sock.close()
        server.stop()


def test_visitors_pages_store_no_session_rows():
    server = CaseTalkServer(name="no-session-rows")
    try:
        for n in range(100):
            path = ("/login", "/password/forgot", "/password/reset/" + "A" * 43)[n % 3]
            assert requests.get(server.base + path, timeout=10).status_code in (200, 404)
        with sqlite3.connect(server.workdir / "var" / "casetalk.sqlite") as db:
            assert db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0
    finally:
        server.stop()
