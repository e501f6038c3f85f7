"""Browser tests: a real `casetalk serve` on loopback, driven by headless Chromium.

The server runs in a throwaway folder (its own SQLite file and development key) with links to
the repository's Resources/ and Public/, in the development environment, so it seeds the demo
practice. Screenshots go to e2e/artifacts/ (CI keeps that folder).
"""
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO = pathlib.Path(__file__).resolve().parent.parent
ARTIFACTS = pathlib.Path(os.environ.get("E2E_ARTIFACTS", REPO / "e2e" / "artifacts"))
DEMO_PASSWORD = "riverside-demo-2026"
MAYA = "maya.chen@riverside.example"
OMAR = "omar.haddad@riverside.example"
LENA = "lena.brooks@riverside.example"
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def demo_code(base, email, seconds=40):
    """A demo account's two-step code that the server will accept now, as the development mailbox
    shows it (SPEC §9). A code works once: right after one is used the next appears within 30 s."""
    row = re.compile(r'<td data-label="Account">' + re.escape(email) + r'</td><td data-label="Code"><code class="demo-code">(\d{6})</code>')
    deadline = time.monotonic() + seconds
    while True:
        match = row.search(requests.get(base + "/dev/mailbox", timeout=10).text)
        if match:
            return match.group(1)
        if time.monotonic() > deadline:
            raise AssertionError(f"no two-step code for {email} on the development mailbox")
        time.sleep(1)


def requests_sign_in(base, email, password=DEMO_PASSWORD, session=None, second_step_on=None):
    """Signs in with requests as a person does: the password on `base`, then a demo account's
    two-step code (on `second_step_on` when given: servers sharing a database share the half-done
    sign-in). Returns the session and the last answer."""
    session = session or requests.Session()
    page = session.get(base + "/login", timeout=10).text
    answer = session.post(base + "/login", data={"_csrf": CSRF.search(page).group(1), "email": email, "password": password},
                          allow_redirects=False, timeout=10)
    return session, finish_two_step(session, second_step_on or base, answer, email)


def finish_two_step(session, base, answer, email):
    """For a requests session whose password answer leads to Two-step verification: types the
    demo account's code, as the person would. Any other answer is returned as it is."""
    if answer.status_code != 303 or not answer.headers.get("Location", "").startswith("/login/two-step"):
        return answer
    page = session.get(base + answer.headers["Location"], timeout=10).text
    return session.post(base + "/login/two-step", data={"_csrf": CSRF.search(page).group(1), "code": demo_code(base, email)},
                        allow_redirects=False, timeout=10)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until(check, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not happen within {seconds} s")


class CaseTalkServer:
    """A `casetalk serve` process on loopback, in a throwaway folder of its own."""

    def __init__(self, extra_env=None, name="server"):
        self.binary = pathlib.Path(os.environ.get("CASETALK_BIN", REPO / ".build" / "debug" / "casetalk")).absolute()
        if not self.binary.exists():
            pytest.fail(f"server binary {self.binary} not found: build it first (swift build)")
        self.name = name
        self.workdir = pathlib.Path(tempfile.mkdtemp(prefix="casetalk-e2e-"))
        for folder in ("Resources", "Public"):
            (self.workdir / folder).symlink_to(REPO / folder)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SMTP_URL")}
        self.env.update({"PUBLIC_BASE_URL": self.base, "LOG_LEVEL": "info"})
        self.env.update(extra_env or {})
        self.log = open(self.workdir / "server.log", "w")
        self.start()

    def start(self):
        """Starts the process (again, after `kill`) in the same folder, on the same port."""
        self.proc = subprocess.Popen(
            [str(self.binary), "serve", "--env", "development", "--hostname", "127.0.0.1", "--port", str(self.port)],
            cwd=self.workdir, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            _wait_until(lambda: requests.get(self.base + "/readyz", timeout=2).status_code == 200, 120, "server ready")
        except Exception:
            self.stop()
            raise

    def kill(self):
        """SIGKILL: no chance to finish anything."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=15)

    def log_text(self):
        self.log.flush()
        return (self.workdir / "server.log").read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.workdir / "server.log", ARTIFACTS / f"{self.name}.log")
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    """The server with the development mailbox (no SMTP_URL), seeded with the demo practice."""
    instance = CaseTalkServer(name="server")
    yield instance.base
    instance.stop()


@pytest.fixture(scope="module")
def mail():
    """A plain SMTP server (aiosmtpd) for a module's servers; a module may bring its own instead."""
    from mailserver import SMTPServer
    server = SMTPServer("plain")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def twilio():
    """The fake Twilio (`e2e/fake_twilio.py`) for a module's servers: codes are read from it."""
    from fake_twilio import FakeTwilio
    fake = FakeTwilio()
    yield fake
    fake.stop()


@pytest.fixture
def casetalk():
    """Runs casetalk commands in a folder of their own (a fresh SQLite database), laid out like
    an installation: Resources/ and Public/ beside the data."""
    binary = pathlib.Path(os.environ.get("CASETALK_BIN", REPO / ".build" / "debug" / "casetalk")).absolute()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="casetalk-cli-"))
    for folder in ("Resources", "Public"):
        (workdir / folder).symlink_to(REPO / folder)
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SMTP_URL")}
    base_env["LOG_LEVEL"] = "error"

    def run(*args, stdin="", env=None, tool=None):
        """`tool`: another binary built beside casetalk (casetalk-bench)."""
        program = binary.with_name(tool) if tool else binary
        return subprocess.run([str(program), *args], cwd=workdir, env={**base_env, **(env or {})}, input=stdin,
                              capture_output=True, text=True, timeout=120)
    run.workdir = workdir
    yield run
    shutil.rmtree(workdir, ignore_errors=True)


def _chrome():
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--lang=en-US"):
        options.add_argument(arg)
    chromium = os.environ.get("CHROMIUM_BIN", shutil.which("chromium") or shutil.which("chromium-browser"))
    if chromium:
        options.binary_location = chromium
    driver_path = os.environ.get("CHROMEDRIVER_BIN", shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def browser(request):
    driver = _chrome()
    yield driver
    driver.quit()


@pytest.fixture
def other_browser():
    driver = _chrome()
    yield driver
    driver.quit()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, keeps a screenshot and the visible text of every open browser."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name in ("browser", "other_browser"):
            driver = item.funcargs.get(name)
            if driver is None:
                continue
            try:
                driver.save_screenshot(str(ARTIFACTS / f"FAILED-{item.name}-{name}.png"))
                (ARTIFACTS / f"FAILED-{item.name}-{name}.txt").write_text(
                    driver.current_url + "\n\n" + driver.find_element("tag name", "body").text)
            except Exception as exc:  # the browser may be gone
                print(f"could not save failure evidence from {name}: {exc}")
