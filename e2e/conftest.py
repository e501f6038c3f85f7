"""Browser tests: a real `casetalk serve` on loopback, driven by headless Chromium.

The server runs in a throwaway folder (its own SQLite file and development key) with links to
the repository's Resources/ and Public/, in the development environment, so it seeds the demo
practice. Screenshots go to e2e/artifacts/ (CI keeps that folder).
"""
import os
import pathlib
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
        self.binary = pathlib.Path(os.environ.get("CASETALK_BIN", REPO / ".build" / "debug" / "casetalk"))
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
    binary = pathlib.Path(os.environ.get("CASETALK_BIN", REPO / ".build" / "debug" / "casetalk"))
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="casetalk-cli-"))
    for folder in ("Resources", "Public"):
        (workdir / folder).symlink_to(REPO / folder)
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SMTP_URL")}
    base_env["LOG_LEVEL"] = "error"

    def run(*args, stdin="", env=None):
        return subprocess.run([str(binary), *args], cwd=workdir, env={**base_env, **(env or {})}, input=stdin,
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
