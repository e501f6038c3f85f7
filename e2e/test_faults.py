"""Faults: the server killed with SIGKILL in the middle of a burst of message sends. Every send
that was acknowledged is there after the restart, and the sends retried with their form keys are
stored once: nothing lost, nothing duplicated."""
import re
import secrets
import sqlite3
from concurrent.futures import ThreadPoolExecutor, as_completed

import requests

from conftest import CSRF, MAYA, CaseTalkServer, requests_sign_in

BURST = 200


def signed_in_session(base):
    session, answer = requests_sign_in(base, MAYA)
    assert answer.status_code == 303 and answer.headers["Location"] == "/cases", answer.status_code
    return session


def test_sigkill_mid_burst_loses_no_acknowledged_message_and_retries_are_not_duplicated():
    server = CaseTalkServer({"CASETALK_RATE_LIMITS": "off"}, name="fault-server")
    try:
        session = signed_in_session(server.base)
        cases = session.get(server.base + "/cases", timeout=10).text
        case_id = re.search(r'href="/cases/([0-9A-Fa-f-]{36})"[^>]*aria-label="View case of Jordan Miles"', cases).group(1)
        talk = f"{server.base}/cases/{case_id}/talk"
        csrf = CSRF.search(session.get(talk, timeout=10).text).group(1)
        keys = [secrets.token_urlsafe(32) for _ in range(BURST)]   # the shape of the form's own keys

        def send(i):
            answer = session.post(talk, data={"_csrf": csrf, "body": f"Burst message {i}.", "idempotency_key": keys[i]},
                                  allow_redirects=False, timeout=10)
            return i, answer.status_code

        acknowledged, errors, killed_after = set(), 0, None
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in as_completed([pool.submit(send, i) for i in range(BURST)]):
                try:
                    i, status = future.result()
                except requests.RequestException:
                    errors += 1
                    continue
                if status == 303:
                    acknowledged.add(i)
                if killed_after is None and len(acknowledged) >= BURST // 4:
                    server.kill()
                    killed_after = len(acknowledged)
        assert killed_after is not None and errors > 0, "the kill landed in the middle of the burst"

        server.start()
        # The session lives in the database: the same cookie works after the restart. Every send is
        # retried with its key, as a browser would after a lost answer (acknowledged ones too).
        for i in range(BURST):
            assert send(i)[1] == 303

        with sqlite3.connect(server.workdir / "var" / "casetalk.sqlite") as db:
            counts = dict(db.execute("SELECT idempotency_key, COUNT(*) FROM messages GROUP BY idempotency_key"))
        lost = [i for i in acknowledged if counts.get(keys[i], 0) == 0]
        duplicated = [key for key, n in counts.items() if n > 1]
        missing_after_retry = [i for i in range(BURST) if counts.get(keys[i], 0) != 1]
        print(f"figures: SIGKILL mid-burst: sends {BURST}, acknowledged before the kill {len(acknowledged)}, "
              f"failed by the kill {errors}, lost {len(lost)}, duplicated {len(duplicated)}, "
              f"stored once after retries {BURST - len(missing_after_retry)} of {BURST}")
        assert not lost and not duplicated and not missing_after_retry
    finally:
        server.stop()
