"""Matrix Synapse beside CaseTalk (issue 7, part 2): installs matrix-synapse from PyPI into a
virtual environment under var/, runs it on loopback with its rate limits lifted and the same
database engine as the CaseTalk run it is compared with, gives it the same shape of fixtures
(20 users, each in 5 private two-person rooms with one of 10 other users), and measures with the
same wrk settings: S2, sending a text message into a private room, and the read of the latest
50 messages of a room. Only bench/bench.py calls this, so both run in one run on one machine."""
import hashlib
import hmac
import json
import pathlib
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse

import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from loadrun import free_port, measure, processes_named, stop, wait_ready, write_sessions, wrk  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV = REPO / "var" / "bench" / "synapse-venv"
USERS, PATIENTS, ROOMS_PER_USER, READ_ROOM_MESSAGES = 20, 10, 5, 60
LIFTED = {"per_second": 1_000_000, "burst_count": 1_000_000}


def install():
    """matrix-synapse in a virtual environment of its own (reused by later runs); its version."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "matrix-synapse",
                    "psycopg2-binary"], check=True)
    version = subprocess.run([str(python), "-c", "import synapse; print(synapse.__version__)"], capture_output=True,
                             text=True, check=True, cwd=VENV).stdout.split()[0]
    return python, version


def config(workdir, port, database):
    """Synapse's configuration (JSON is YAML): client API only, on loopback, every rate limit lifted."""
    log_config = workdir / "log.yaml"
    log_config.write_text(json.dumps({
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(workdir / "synapse.log"), "formatter": "plain"}},
        "root": {"level": "WARNING", "handlers": ["file"]}}))
    settings = {
        "server_name": "bench.local", "pid_file": str(workdir / "synapse.pid"),
        "listeners": [{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                       "resources": [{"names": ["client"], "compress": False}]}],
        "database": database, "log_config": str(log_config), "media_store_path": str(workdir / "media"),
        "signing_key_path": str(workdir / "signing.key"), "registration_shared_secret": secrets.token_hex(16),
        "macaroon_secret_key": secrets.token_hex(16), "form_secret": secrets.token_hex(16), "report_stats": False,
        "trusted_key_servers": [], "suppress_key_server_warning": True, "presence": {"enabled": False},
        "enable_metrics": False, "url_preview_enabled": False,
    }
    for key in ("rc_message", "rc_registration", "rc_room_creation", "rc_joins_per_room", "rc_third_party_invite",
                "rc_3pid_validation", "rc_admin_redaction", "rc_key_requests", "rc_delayed_event_mgmt", "rc_reports",
                "rc_media_create", "rc_profile", "rc_user_directory"):
        settings[key] = LIFTED
    settings["rc_login"] = {"address": LIFTED, "account": LIFTED, "failed_attempts": LIFTED}
    settings["rc_joins"] = {"local": LIFTED, "remote": LIFTED}
    settings["rc_invites"] = {"per_room": LIFTED, "per_user": LIFTED, "per_issuer": LIFTED}
    settings["rc_presence"] = {"per_user": LIFTED}
    path = workdir / "homeserver.yaml"
    path.write_text(json.dumps(settings, indent=1))
    return path, settings["registration_shared_secret"]


class Synapse:
    def __init__(self, python, workdir, database):
        self.python, self.workdir = python, workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config_path, self.secret = config(workdir, self.port, database)
        subprocess.run([str(python), "-m", "synapse.app.homeserver", "-c", str(self.config_path), "--generate-keys"],
                       cwd=workdir, check=True, capture_output=True)

    def start(self):
        self.log = open(self.workdir / "synapse.out", "a")
        self.proc = subprocess.Popen([str(self.python), "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
                                     cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT)
        wait_ready(self.proc, self.base + "/health", 180, self.workdir / "synapse.out")

    def stop(self):
        stop(self.proc, signal.SIGTERM)

    def register(self, name, password):
        """A user through the shared-secret admin API; their access token."""
        nonce = requests.get(self.base + "/_synapse/admin/v1/register", timeout=30).json()["nonce"]
        mac = hmac.new(self.secret.encode(), b"\x00".join([nonce.encode(), name.encode(), password.encode(), b"notadmin"]),
                       hashlib.sha1).hexdigest()
        answer = requests.post(self.base + "/_synapse/admin/v1/register", timeout=60,
                               json={"nonce": nonce, "username": name, "password": password, "mac": mac, "admin": False})
        answer.raise_for_status()
        return answer.json()["access_token"]

    def call(self, method, path, token, body=None):
        answer = requests.request(method, self.base + "/_matrix/client/v3" + path, json=body, timeout=60,
                                  headers={"Authorization": "Bearer " + token})
        answer.raise_for_status()
        return answer.json()


def seed(synapse):
    """20 users, each in 5 private rooms with one of 10 others (100 rooms); one room with 60 messages."""
    password = "bench-" + secrets.token_hex(8)
    users = [synapse.register(f"member{i:02d}", password) for i in range(USERS)]
    patients = [synapse.register(f"patient{i:02d}", password) for i in range(PATIENTS)]
    rooms = []
    for i, token in enumerate(users):
        mine = []
        for k in range(ROOMS_PER_USER):
            p = (i + k) % PATIENTS
            room = synapse.call("POST", "/createRoom", token, {"preset": "private_chat", "is_direct": True,
                                                               "invite": [f"@patient{p:02d}:bench.local"]})["room_id"]
            synapse.call("POST", f"/join/{urllib.parse.quote(room)}", patients[p], {})
            mine.append(room)
        rooms.append(mine)
    read_room = rooms[0][0]
    for n in range(READ_ROOM_MESSAGES):
        synapse.call("PUT", f"/rooms/{urllib.parse.quote(read_room)}/send/m.room.message/seed{n}", users[0],
                     {"msgtype": "m.text", "body": f"Seed message {n}"})
    return {"users": [{"token": t, "rooms": [urllib.parse.quote(r, safe="") for r in rs]} for t, rs in zip(users, rooms)],
            "reader": {"token": users[0], "room": urllib.parse.quote(read_room, safe="")}}


def count_messages(synapse, engine, database_url):
    query = "SELECT COUNT(*) FROM events WHERE type = 'm.room.message'"
    if engine == "postgresql":
        return int(subprocess.run(["psql", database_url, "-Atc", query], capture_output=True, text=True, check=True).stdout)
    import sqlite3
    with sqlite3.connect(synapse.workdir / "homeserver.db") as db:
        return db.execute(query).fetchone()[0]


def run(engine, seconds, workdir, database_url=""):
    """Synapse's S2 (16 and 64 connections) and latest-50 read on `engine`; results as bench.py keeps them."""
    workdir.mkdir(parents=True, exist_ok=True)
    python, version = install()
    if engine == "postgresql":
        # Synapse wants its own database with C collation; it lives beside CaseTalk's in the same cluster.
        admin = urllib.parse.urlparse(database_url)
        subprocess.run(["psql", database_url, "-c", "DROP DATABASE IF EXISTS synapse_bench"], check=True, capture_output=True)
        subprocess.run(["psql", database_url, "-c", "CREATE DATABASE synapse_bench ENCODING 'UTF8' LC_COLLATE='C' "
                        "LC_CTYPE='C' TEMPLATE template0"], check=True, capture_output=True)
        database = {"name": "psycopg2", "args": {"user": admin.username, "password": admin.password or "",
                                                 "database": "synapse_bench", "host": admin.hostname,
                                                 "port": admin.port, "cp_min": 5, "cp_max": 10}}
        database_url = admin._replace(path="/synapse_bench").geturl()
    else:
        database = {"name": "sqlite3", "args": {"database": str(workdir / "homeserver.db")}}
    synapse = Synapse(python, workdir, database)
    synapse.start()
    results = {"version": version}
    try:
        sessions = workdir / "sessions.lua"
        write_sessions(sessions, seed(synapse))
        env = {"BENCH_LUA": str(HERE.parent / "lua"), "BENCH_SESSIONS": str(sessions)}
        wrk(synapse.base, connections=16, seconds=3, script="synapse/read.lua", env=env)  # warm-up
        # CPU: Synapse's process and, on PostgreSQL, the database server's processes.
        pids = lambda: [synapse.proc.pid] + (processes_named("postgres") if engine == "postgresql" else [])  # noqa: E731
        for conns in (16, 64):
            before = count_messages(synapse, engine, database_url)
            r = measure(synapse.base, pids, f"Synapse S2 sends into private rooms, {conns} connections",
                        connections=conns, seconds=seconds, script="synapse/send.lua", env=env)
            time.sleep(1)
            r["stored"] = count_messages(synapse, engine, database_url) - before
            r["acknowledged"] = r["statuses"].get("200", 0)
            results[f"S2_{conns}"] = r
        results["read50"] = measure(synapse.base, pids, "Synapse latest 50 messages of a room, 16 connections",
                                    connections=16, seconds=seconds, script="synapse/read.lua", env=env)
    finally:
        synapse.stop()
    return results
