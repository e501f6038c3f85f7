"""Profiles one scenario of the benchmark: the release server as bench/bench.py runs it
(production, fixtures seeded; SQLite, or PostgreSQL when DATABASE_URL is set), wrk on the page or
the send for SECONDS, `perf record -g` meanwhile: on the server alone, or with --all on every
process (the database server's too). Writes bench/results/profile-<page>[-postgres].txt (perf
report, by symbol, children).
    BENCH_SMTP_PORT=<sink> [DATABASE_URL=postgres://…] python3 bench/profile.py --binary .build/release/casetalk \
        --page thread|inbox|send [--connections N] [--all]
Loopback only; the server and wrk stop when it ends."""
import argparse
import json
import os
import pathlib
import subprocess
import tempfile

from bench import HERE, REPO, Server, prepare_sessions
from loadrun import wrk


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True, type=lambda p: str(pathlib.Path(p).resolve()))
    parser.add_argument("--page", choices=["thread", "inbox", "send"], default="thread")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--all", action="store_true", help="every process, not only the server")
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="casetalk-profile-"))
    (workdir / "Public").symlink_to(REPO / "Public")
    (workdir / "Resources").symlink_to(REPO / "Resources")
    env = dict(os.environ)
    env.update({
        "PUBLIC_BASE_URL": "https://casetalk.bench.example", "SMTP_URL": f"smtp://127.0.0.1:{os.environ['BENCH_SMTP_PORT']}?tls=off",
        "TWILIO_ACCOUNT_SID": "ACbench", "TWILIO_AUTH_TOKEN": "bench", "TWILIO_FROM_NUMBER": "+15550100",
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9", "CASETALK_DATA_KEY": "YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtMzI=",
        "CASETALK_AUDIT_KEY": "YmVuY2gtYXVkaXQtYmVuY2gtYXVkaXQtYmVuY2gtMzI=", "CASETALK_RATE_LIMITS": "off", "LOG_LEVEL": "notice",
    })
    server = Server(args.binary, env, workdir)
    seeded = server.bench("seed", "--seed", "42", "--manifest", str(workdir / "manifest.json"), environment="development")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    manifest = json.loads((workdir / "manifest.json").read_text())
    server.start()
    try:
        sessions = workdir / "sessions.lua"
        prepare_sessions(server.base, manifest, sessions)
        who, path = ("page", f"/inbox/{manifest['pageThread']}") if args.page == "thread" else ("heavy", "/inbox")
        lua_env = {"BENCH_LUA": str(HERE / "lua"), "BENCH_SESSIONS": str(sessions), "BENCH_WHO": who, "BENCH_PATH": path}
        script = "lua/send.lua" if args.page == "send" else "lua/get.lua"
        wrk(server.base, connections=args.connections, seconds=3, script=script, env=lua_env)
        data = workdir / "perf.data"
        scope = ["-a"] if args.all else ["-p", str(server.proc.pid)]
        perf = subprocess.Popen(["perf", "record", "-g", "-F", "499", "-o", str(data), *scope, "--",
                                 "sleep", str(args.seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result = wrk(server.base, connections=args.connections, seconds=args.seconds, script=script, env=lua_env)
        perf.wait(timeout=args.seconds + 60)
        print(f"{args.page}: {result['rps']:.0f} req/s, p99 {result['p99']} ms")
        report = subprocess.run(["perf", "report", "-i", str(data), "--children", "--stdio", "--no-demangle", "-g", "none",
                                 "--percent-limit", "1.5"], capture_output=True, text=True).stdout
        engine = "-postgres" if "DATABASE_URL" in env else ""
        out = HERE / "results" / f"profile-{args.page}{engine}.txt"
        out.write_text(report)
        print(f"wrote {out.relative_to(REPO)}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
