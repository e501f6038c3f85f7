"""The virus check (SPEC §8, `CLAMD_ADDRESS`) with Debian's clamd on loopback. freshclam cannot
reach ClamAV's mirrors here, so clamd loads one signature built at run time: the MD5 and size of
a PDF made for the test (an .hdb line). The signed PDF is refused and never offered; a clean one
passes; with clamd stopped, files wait as "Checking…" and pass once it is back."""
import hashlib
import os
import pathlib
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import MAYA, CaseTalkServer, _free_port, requests_sign_in
from test_hostile_input import multipart, token

CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"
REFUSED = "This file didn&#39;t pass our security check."
FILE_LINK = re.compile(r'href="(/files/[0-9A-Fa-f-]{36})[^"]*"')


class Clamd:
    def __init__(self, signed):
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="casetalk-clamd-"))
        (self.folder / "db").mkdir()
        (self.folder / "db" / "casetalk-test.hdb").write_text(
            f"{hashlib.md5(signed).hexdigest()}:{len(signed)}:CaseTalk.Test.Signature\n")
        self.port = _free_port()
        (self.folder / "clamd.conf").write_text("\n".join([
            f"TCPSocket {self.port}", "TCPAddr 127.0.0.1", f"DatabaseDirectory {self.folder / 'db'}", "Foreground yes",
            f"LogFile {self.folder / 'clamd.log'}", "StreamMaxLength 600M", "MaxFileSize 600M", "MaxScanSize 600M",
            "AlertExceedsMax yes", ""]))
        self.proc = None
        self.start()

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"zPING\0")
                return s.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def start(self):
        self.proc = subprocess.Popen([CLAMD, "--config-file", str(self.folder / "clamd.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not self.ping():
            assert self.proc.poll() is None, "clamd exited: " + (self.folder / "clamd.log").read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "clamd did not answer PING within 60 s"
            time.sleep(0.3)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


def pdf(words):
    return b"%PDF-1.7\n" + words.encode() + b"\n%%EOF\n"


def send(session, base, case_id, text, files):
    talk = f"{base}/cases/{case_id}/talk"
    parts = [("_csrf", None, token(session, talk).encode()), ("idempotency_key", None, secrets.token_urlsafe(32).encode()),
             ("body", None, text.encode())] + [("files", name, content) for name, content in files]
    answer = session.post(f"{base}/uploads/cases/{case_id}/talk", data=multipart(parts), allow_redirects=False, timeout=60,
                          headers={"Content-Type": "multipart/form-data; boundary=hostileBoundary42"})
    assert answer.status_code == 303, answer.status_code


def thread_when(session, base, case_id, done, seconds=40):
    deadline = time.monotonic() + seconds
    while True:
        page = session.get(f"{base}/cases/{case_id}/talk", timeout=10).text
        if done(page):
            return page
        assert time.monotonic() < deadline, "the thread did not settle: " + ("Checking…" if "Checking…" in page else "?")
        time.sleep(0.5)


def message_of(page, text):
    """The thread's list item of the message with `text`."""
    return next(item for item in page.split('<li class="message') if text in item)


@pytest.fixture
def clamd_and_app():
    signed = pdf("CaseTalk virus check test " + secrets.token_hex(16))
    clamd = Clamd(signed)
    app = CaseTalkServer({"CLAMD_ADDRESS": f"127.0.0.1:{clamd.port}"}, name="virus-check-server")
    yield clamd, app, signed
    app.stop()
    clamd.stop()
    shutil.rmtree(clamd.folder, ignore_errors=True)


def test_a_signed_file_is_refused_a_clean_one_passes_and_files_wait_while_clamd_is_down(clamd_and_app):
    clamd, app, signed = clamd_and_app
    assert "virus check: every file is scanned by clamd" in app.log_text(), "start-up says the check is on"
    session, _ = requests_sign_in(app.base, MAYA)
    cases = session.get(app.base + "/cases", timeout=10).text
    case_id = re.search(r'href="/cases/([0-9A-Fa-f-]{36})"[^>]*aria-label="View case of Sam Ortega"', cases).group(1)

    clean = pdf("A clean treatment plan " + secrets.token_hex(8))
    send(session, app.base, case_id, "Two plans.", [("Clean plan.pdf", clean), ("Signed plan.pdf", signed)])
    page = thread_when(session, app.base, case_id, lambda p: "Checking…" not in message_of(p, "Two plans."))
    message = message_of(page, "Two plans.")
    assert "Signed plan.pdf" in message and REFUSED in message, "the sender is told"
    links = FILE_LINK.findall(message)
    assert len(set(links)) == 1, links
    assert session.get(app.base + links[0], timeout=10).content == clean, "the clean file passes"

    # clamd stopped: a file waits, not shown, and passes once clamd is back.
    clamd.stop()
    later = pdf("A later plan " + secrets.token_hex(8))
    send(session, app.base, case_id, "One more plan.", [("Later plan.pdf", later)])
    time.sleep(6)
    waiting = message_of(session.get(f"{app.base}/cases/{case_id}/talk", timeout=10).text, "One more plan.")
    assert "Checking…" in waiting and not FILE_LINK.search(waiting), "a file waits while clamd is down"
    assert "virus check unavailable; files wait" in app.log_text()
    clamd.start()
    page = thread_when(session, app.base, case_id, lambda p: "Checking…" not in message_of(p, "One more plan."))
    passed = FILE_LINK.findall(message_of(page, "One more plan."))
    assert passed and session.get(app.base + passed[0], timeout=10).content == later
    print(f"\nfigures: virus check with clamd: refused 1 of 2, the waiting file passed after clamd returned")
