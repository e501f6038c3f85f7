"""Behind a proxy (SPEC §5, review M4): `X-Forwarded-For` is believed only from an address in
`TRUSTED_PROXIES`, and then the right-most address the proxy did not add is the client, for the
per-address rate limits and for the audit trail's "from where". From anyone else it is ignored."""
import sqlite3

import requests

from conftest import CSRF, CaseTalkServer

LIMIT = 20   # Forgot password? per address per hour (RateLimitPolicy.standard)


def forgot(base, forwarded_for, n):
    session = requests.Session()
    page = session.get(base + "/password/forgot", timeout=10).text
    # A different address each time: the per-account limit (5 an hour) is not what is measured.
    return session.post(base + "/password/forgot", allow_redirects=False, timeout=10,
                        headers={"X-Forwarded-For": forwarded_for},
                        data={"_csrf": CSRF.search(page).group(1), "email": f"someone-{n}@patients.example"}).status_code


def audit_addresses(server):
    with sqlite3.connect(server.workdir / "var" / "casetalk.sqlite") as db:
        return {row[0] for row in db.execute("SELECT client_address FROM audit_entries WHERE action = 'password_reset.requested'")}


def test_behind_a_trusted_proxy_each_client_has_its_own_budget_and_address():
    server = CaseTalkServer({"TRUSTED_PROXIES": "127.0.0.1, ::1"}, name="proxy-trusted")
    try:
        # The client wrote a fake address in front; the balancer appended the real one.
        statuses = [forgot(server.base, "198.51.100.77, 203.0.113.1", n) for n in range(LIMIT + 1)]
        assert statuses == [303] * LIMIT + [429], statuses
        assert forgot(server.base, "203.0.113.2", 100) == 303, "the next person behind the same balancer is not locked out"
        addresses = audit_addresses(server)
        assert {"203.0.113.1", "203.0.113.2"} <= addresses and "198.51.100.77" not in addresses, addresses
        assert "127.0.0.1" not in addresses, "the balancer's own address is not the client"
    finally:
        server.stop()


def test_without_trusted_proxies_the_header_is_ignored():
    server = CaseTalkServer(name="proxy-untrusted")
    try:
        statuses = [forgot(server.base, f"203.0.113.{n}", n) for n in range(LIMIT + 1)]
        assert statuses == [303] * LIMIT + [429], "a forged header buys no new budget"
        assert audit_addresses(server) == {"127.0.0.1"}
    finally:
        server.stop()


def test_a_malformed_setting_is_refused_at_start(casetalk):
    answer = casetalk("serve", "--env", "development", "--port", "0", env={"TRUSTED_PROXIES": "10.0.0.0/8, the-balancer"})
    assert answer.returncode != 0
    assert "TRUSTED_PROXIES" in answer.stderr and "the-balancer" in answer.stderr, answer.stderr
