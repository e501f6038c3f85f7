"""Two `casetalk serve` processes on one private PostgreSQL cluster: a session, a sign-in lock
and a rate limit made on one hold on the other, and both outbox workers together send each
email once. Then PostgreSQL is crashed and restarted under a burst of message sends: both
servers recover without a restart, every failed request is answered as an error, and every
acknowledged message is stored once."""
import base64
import os
import re
import secrets
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import CSRF, DEMO_PASSWORD, LENA, MAYA, OMAR, REPO, CaseTalkServer, requests_sign_in
from mailserver import free_port

DATA_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
AUDIT_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
CASE_LINK = re.compile(r'href="/cases/([0-9A-Fa-f-]{36})"')


class PrivatePostgres:
    """A cluster of its own, started and crashed through .ci/postgres.sh (the one way to run one)."""

    def __init__(self):
        # A crash must not take back a commit that was acknowledged: synchronous commit on.
        self.vars = {"PG_TEST_PORT": str(free_port()), "PG_TEST_SETTINGS": "-c synchronous_commit=on"}
        out = self.shell('pg_test_start && echo "$PG_TEST_DATA|$PG_TEST_BIN|$DATABASE_URL"').strip().splitlines()[-1]
        data, binary, self.url = out.split("|")
        self.vars.update(PG_TEST_DATA=data, PG_TEST_BIN=binary)

    def shell(self, command):
        script = "source .ci/postgres.sh && " + "".join(f'{k}="{v}"; ' for k, v in self.vars.items()) + command
        return subprocess.run(["bash", "-c", script], cwd=REPO, env={**os.environ, **self.vars}, capture_output=True,
                              text=True, timeout=120, check=True).stdout

    def restart(self, pause):
        self.shell(f"pg_test_restart {pause}")

    def query(self, sql):
        binary, port = self.vars["PG_TEST_BIN"], self.vars["PG_TEST_PORT"]
        return subprocess.run(["runuser", "-u", "postgres", "--", f"{binary}/psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres",
                               "-d", "casetalk", "-Atc", sql], capture_output=True, text=True, timeout=30, check=True).stdout

    def stop(self):
        self.shell("pg_test_stop")


@pytest.fixture(scope="module")
def postgres():
    if os.geteuid() != 0 or not list(__import__("glob").glob("/usr/lib/postgresql/*/bin/initdb")):
        pytest.fail("these tests start a private PostgreSQL cluster: run as root with PostgreSQL installed (.ci/run does)")
    cluster = PrivatePostgres()
    yield cluster
    cluster.stop()


def pair(postgres, mail, name, extra=None):
    # Instances behind one load balancer share the database, the data key and the audit key (README).
    env = {"DATABASE_URL": postgres.url, "SMTP_URL": f"smtp://127.0.0.1:{mail.port}", "CASETALK_DATA_KEY": DATA_KEY,
           "CASETALK_AUDIT_KEY": AUDIT_KEY, **(extra or {})}
    first = CaseTalkServer(env, name=f"{name}-a")      # migrates and seeds; the second finds both done
    return first, CaseTalkServer(env, name=f"{name}-b")


def sign_in(base, email, password=DEMO_PASSWORD, second_step_on=None):
    return requests_sign_in(base, email, password, second_step_on=second_step_on)


def post_form(session, page_url, url, data):
    csrf = CSRF.search(session.get(page_url, timeout=10).text).group(1)
    return session.post(url, data={"_csrf": csrf, **data}, allow_redirects=False, timeout=10)


def test_two_servers_share_sessions_locks_limits_and_send_each_email_once(postgres, mail):
    a, b = pair(postgres, mail, "pg-two")
    try:
        servers = [a, b]
        # A session made on A works on B, and signing out on B ends it on A; the password given on
        # A is followed by the two-step code on B.
        maya, answer = sign_in(a.base, MAYA, second_step_on=b.base)
        assert answer.status_code == 303 and answer.headers["Location"] == "/cases"
        assert "Jordan Miles" in maya.get(b.base + "/cases", timeout=10).text
        assert post_form(maya, b.base + "/cases", b.base + "/logout", {}).status_code == 303
        assert maya.get(a.base + "/cases", allow_redirects=False, timeout=10).status_code == 303, "signed out on A too"

        # Five wrong passwords, alternating servers, lock the account on both.
        for i in range(5):
            assert sign_in(servers[i % 2].base, OMAR, "wrong-password-" + str(i))[1].status_code == 401
        for server in servers:
            assert sign_in(server.base, OMAR)[1].status_code == 401, "the right password is refused while locked"

        # The Forgot password? limit per account (5 an hour) counts requests on both servers.
        statuses = []
        for i in range(6):
            session = requests.Session()
            url = servers[i % 2].base + "/password/forgot"
            statuses.append(post_form(session, url, url, {"email": LENA}).status_code)
        assert statuses == [303] * 5 + [429], statuses

        # Invitations made on both servers: the two outbox workers deliver each email once.
        maya, _ = sign_in(a.base, MAYA)
        case_ids = sorted(set(CASE_LINK.findall(maya.get(a.base + "/cases", timeout=10).text)))
        addresses = []
        for i, case_id in enumerate(case_ids):
            server = servers[i % 2]
            address = f"pg-two-{i}@patients.example"
            invite = f"{server.base}/cases/{case_id}/invite"
            assert post_form(maya, invite, invite, {"email": address, "confirm_email": address}).status_code == 303
            addresses.append(address)
        for address in addresses:
            mail.wait_for(address)
        time.sleep(5)   # time for a second delivery, if the workers could make one
        copies = {address: len(mail.messages_to(address)) for address in addresses}
        status = dict(line.split("|") for line in postgres.query("SELECT status, COUNT(*) FROM outbox GROUP BY status").split())
        print(f"figures: two servers on one PostgreSQL: {len(addresses)} invitations made on both, emails received "
              f"{sum(copies.values())}, duplicated {sum(n - 1 for n in copies.values() if n > 1)}; outbox {status}")
        assert all(n == 1 for n in copies.values()), copies
    finally:
        a.stop()
        b.stop()


def test_postgres_restarted_under_load_the_servers_recover_and_report_failures(postgres, mail):
    a, b = pair(postgres, mail, "pg-restart", {"CASETALK_RATE_LIMITS": "off"})
    try:
        servers = [a, b]
        maya, _ = sign_in(a.base, MAYA)
        cases = maya.get(a.base + "/cases", timeout=10).text
        case_id = re.search(r'href="/cases/([0-9A-Fa-f-]{36})"[^>]*aria-label="View case of Jordan Miles"', cases).group(1)
        csrf = CSRF.search(maya.get(f"{a.base}/cases/{case_id}/talk", timeout=10).text).group(1)
        results = []           # (key, status) for every send made

        def send(i):
            key = secrets.token_urlsafe(32)
            try:
                answer = maya.post(f"{servers[i % 2].base}/cases/{case_id}/talk", allow_redirects=False, timeout=45,
                                   data={"_csrf": csrf, "body": f"Load message {i}.", "idempotency_key": key})
                results.append((key, answer.status_code, answer.text if answer.status_code >= 400 else ""))
            except requests.RequestException as error:
                results.append((key, "no answer", str(error)))

        def keep_sending(worker, until):
            i = worker
            while time.monotonic() < until:
                send(i)
                i += 8

        until = time.monotonic() + 16
        with ThreadPoolExecutor(max_workers=9) as pool:
            senders = [pool.submit(keep_sending, w, until) for w in range(8)]
            time.sleep(4)
            pool.submit(postgres.restart, 3).result()       # down for 3 s in the middle of the burst
            for sender in senders:
                sender.result()

        for server in servers:
            assert server.proc.poll() is None, "the server process is still the same one"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(server.base + "/readyz", timeout=10).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, "ready again without a restart"
                time.sleep(0.5)
        acknowledged = {key for key, status, _ in results if status == 303}
        failed = [(status, text) for _, status, text in results if status != 303]
        stored = dict(line.split("|") for line in postgres.query(
            "SELECT idempotency_key, COUNT(*) FROM messages WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key").split())
        lost = [key for key in acknowledged if key not in stored]
        duplicated = [key for key, n in stored.items() if int(n) > 1]
        failed_but_stored = [key for key, status, _ in results if status != 303 and key in stored]
        statuses = [f"{n} × {status}" for status, n in sorted(Counter(str(status) for status, _ in failed).items())]
        print(f"figures: PostgreSQL restarted under load (down 3 s): sends {len(results)}, acknowledged {len(acknowledged)}, "
              f"answered as errors {len(failed)} ({', '.join(statuses)}), lost {len(lost)}, duplicated {len(duplicated)}, "
              f"failed but stored {len(failed_but_stored)}")
        assert failed, "the restart landed in the middle of the burst"
        assert all(isinstance(status, int) and status >= 500 for status, _ in failed), statuses
        assert all("Something went wrong" in text or "try again" in text for _, text in failed), "an error page, in words"
        assert not lost and not duplicated

        # Both servers work again, and their outbox workers deliver.
        for i, server in enumerate(servers):
            page = f"{server.base}/cases/{case_id}/talk"
            assert post_form(maya, page, page, {"body": f"After the restart {i}.",
                                                "idempotency_key": secrets.token_urlsafe(32)}).status_code == 303
        maya_cases = sorted(set(CASE_LINK.findall(cases)) - {case_id})
        invite = f"{b.base}/cases/{maya_cases[0]}/invite"
        assert post_form(maya, invite, invite, {"email": "after-restart@patients.example",
                                                "confirm_email": "after-restart@patients.example"}).status_code == 303
        mail.wait_for("after-restart@patients.example")
        for server in servers:
            assert "Traceback" not in server.log_text()
    finally:
        a.stop()
        b.stop()
