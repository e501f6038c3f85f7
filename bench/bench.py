"""CaseTalk's load benchmark (run it through bench/run). Starts the release binary in the
production environment on loopback, seeds the fixtures, signs in, drives wrk through each
scenario, reads the server's CPU time from /proc, and writes bench/results/<date>.md.

Every figure comes from this one run on this one machine; the report gives ratios to S0 (the
same binary answering /healthz), the core count and the load average during the run."""
import argparse
import datetime
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import requests

from loadrun import ROUNDS, free_port, measure, processes_named, stop, wait_ready, write_sessions, wrk
import synapse.synapse_bench as synapse_bench

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


class Server:
    """`casetalk serve --env production` in a folder of its own, on loopback."""

    def __init__(self, binary, env, workdir):
        self.binary, self.env, self.workdir = binary, env, workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / "server.log", "a")

    def command(self, *args, environment="production"):
        return subprocess.run([str(self.binary), *args, "--env", environment], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=1800)

    def bench(self, *args, environment="production"):
        """The benchmark's own commands (`casetalk-bench`, built beside `casetalk`; not in the product)."""
        tool = pathlib.Path(self.binary).with_name("casetalk-bench")
        return subprocess.run([str(tool), *args, "--env", environment], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=1800)

    def start(self):
        self.proc = subprocess.Popen([str(self.binary), "serve", "--env", "production", "--hostname", "127.0.0.1",
                                      "--port", str(self.port)], cwd=self.workdir, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_ready(self.proc, self.base + "/readyz", 120, self.workdir / "server.log")

    def measure(self, label, **kwargs):
        """CPU counts this server's process and, on PostgreSQL, the database server's processes."""
        on_postgres = "DATABASE_URL" in self.env
        return measure(self.base, lambda: [self.proc.pid] + (processes_named("postgres") if on_postgres else []), label, **kwargs)

    def stop(self):
        stop(self.proc, signal.SIGINT)


def named_cookie(answer, name):
    """`NAME=value` from Set-Cookie. The server's public address is https, so its cookies are
    Secure and named `__Host-…` (requests would not send them over http by itself)."""
    match = re.search(r"(__Host-" + name + r")=([^;]+)", answer.headers.get("Set-Cookie", ""))
    return match and f"{match.group(1)}={match.group(2)}"


def session_cookie(answer):
    return named_cookie(answer, "casetalk_session")


def sign_in(base, email, password, totp_key=None, device=None):
    """Signs in as a person does: the password, then the second step (a code from the member's
    TOTP key, by pyotp; a patient brings a remembered browser's device cookie)."""
    page = requests.get(base + "/login", timeout=30)
    cookie = named_cookie(page, "casetalk_form")    # a visitor's form token goes with this cookie
    headers = {"Cookie": cookie + (f"; __Host-casetalk_device={device}" if device else "")}
    answer = requests.post(base + "/login", data={"_csrf": CSRF.search(page.text).group(1), "email": email, "password": password},
                           headers=headers, allow_redirects=False, timeout=60)
    assert answer.status_code == 303, f"sign-in of {email}: {answer.status_code}"
    cookie = session_cookie(answer) or cookie
    if answer.headers["Location"].startswith("/login/two-step"):
        import pyotp
        step = requests.get(base + "/login/two-step", headers={"Cookie": cookie}, timeout=30)
        # The code of the next step: one step of drift is accepted, and it is never one used already.
        code = pyotp.TOTP(totp_key).at(time.time() + 30)
        answer = requests.post(base + "/login/two-step", data={"_csrf": CSRF.search(step.text).group(1), "code": code},
                               headers={"Cookie": cookie}, allow_redirects=False, timeout=60)
        assert answer.status_code == 303 and not answer.headers["Location"].startswith("/login"), f"two-step of {email}: {answer.status_code}"
        cookie = session_cookie(answer) or cookie
    return cookie


def prepare_sessions(base, manifest, path):
    """Signs in every member and the three patients the scenarios read as; writes a Lua table."""
    members = []
    for email, cases, key in zip(manifest["members"], manifest["memberCases"], manifest["totpKeys"]):
        cookie = sign_in(base, email, manifest["password"], totp_key=key)
        page = requests.get(f"{base}/cases/{cases[0]}/talk", headers={"Cookie": cookie}, timeout=30).text
        members.append({"cookie": cookie, "csrf": CSRF.search(page).group(1), "cases": cases})
    patients = {name: {"cookie": sign_in(base, manifest["patients"][i], manifest["password"], device=manifest["deviceTokens"][i])}
                for name, i in (("heavy", 0), ("long", 1), ("page", 2))}
    login = requests.get(base + "/login", timeout=30)
    anonymous = {"cookie": named_cookie(login, "casetalk_form"), "csrf": CSRF.search(login.text).group(1)}
    write_sessions(path, {"members": members, "anonymous": anonymous, **patients})


def count_messages(server, database_url):
    """The messages table's row count, read through the database itself."""
    if database_url:
        return int(subprocess.run(["bash", "-c", f'psql "{database_url}" -Atc "SELECT COUNT(*) FROM messages"'],
                                  capture_output=True, text=True, check=True).stdout)
    import sqlite3
    with sqlite3.connect(server.workdir / "var" / "casetalk.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]


def run_engine(binary, engine, database_url, seconds, workroot):
    workdir = pathlib.Path(tempfile.mkdtemp(prefix=f"casetalk-bench-{engine}-", dir=workroot))
    for folder in ("Resources", "Public"):
        (workdir / folder).symlink_to(REPO / folder)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update({
        "PUBLIC_BASE_URL": "https://casetalk.bench.example", "SMTP_URL": f"smtp://127.0.0.1:{os.environ['BENCH_SMTP_PORT']}?tls=off",
        "TWILIO_ACCOUNT_SID": "ACbench", "TWILIO_AUTH_TOKEN": "bench", "TWILIO_FROM_NUMBER": "+15550100",
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9", "CASETALK_DATA_KEY": "YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtMzI=",
        "CASETALK_AUDIT_KEY": "YmVuY2gtYXVkaXQtYmVuY2gtYXVkaXQtYmVuY2gtMzI=",
        "CASETALK_RATE_LIMITS": "off", "LOG_LEVEL": "notice",
    })
    if database_url:
        env["DATABASE_URL"] = database_url
    server = Server(binary, env, workdir)
    # The load-test accounts share a known password, so seeding refuses production (SPEC §5);
    # the production server then runs on what development seeded.
    seeded = server.bench("seed", "--seed", "42", "--manifest", str(workdir / "manifest.json"), environment="development")
    if seeded.returncode != 0:
        raise RuntimeError("seeding failed:\n" + seeded.stdout + seeded.stderr)
    print(f"[{engine}] {seeded.stdout.strip().splitlines()[-1]}", flush=True)
    manifest = json.loads((workdir / "manifest.json").read_text())
    server.start()
    results = {}
    try:
        sessions = workdir / "sessions.lua"
        prepare_sessions(server.base, manifest, sessions)
        lua_env = {"BENCH_LUA": str(HERE / "lua"), "BENCH_SESSIONS": str(sessions)}
        # Warm-up, then the scenarios.
        wrk(server.base, connections=16, seconds=3, path="/healthz")
        if engine == "sqlite":
            results["S0"] = server.measure("S0 /healthz, 64 connections", connections=64, seconds=seconds, path="/healthz")
            timed = server.bench("hash", "--count", "10").stdout
            results["hash_ms"] = float(re.search(r"\bhash_ms=([\d.]+)", timed).group(1))
            results["busy_hash_ms"] = float(re.search(r"busy_hash_ms=([\d.]+)", timed).group(1))
            get = {**lua_env, "BENCH_WHO": "heavy", "BENCH_PATH": "/inbox"}
            results["inbox_idle"] = server.measure("Secure Inbox alone, 4 connections", connections=4, seconds=seconds,
                                            script="lua/get.lua", env=get, threads=1)
            storm_seconds = ROUNDS * (seconds + 1) + 4   # outlasts every round of the measurement beside it
            storm = subprocess.Popen(["wrk", "-t1", "-c8", f"-d{storm_seconds}s", "--latency", "--timeout", "30s",
                                      "-s", str(HERE / "lua" / "signin.lua"), server.base + "/login"],
                                     stdout=subprocess.PIPE, text=True, env={**os.environ, **lua_env})
            time.sleep(2)
            results["inbox_storm"] = server.measure("Secure Inbox during a sign-in storm, 4 connections", connections=4,
                                             seconds=seconds, script="lua/get.lua", env=get, threads=1)
            storm.wait(timeout=storm_seconds + 60)
            results["S1"] = server.measure("S1 sign-in, 8 connections", connections=8, seconds=seconds, script="lua/signin.lua",
                                    env=lua_env, threads=2)
        for conns in (16, 64):
            before = count_messages(server, database_url)
            r = server.measure(f"S2 member sends, {conns} connections", connections=conns, seconds=seconds,
                        script="lua/send.lua", env=lua_env)
            time.sleep(1)
            r["stored"] = count_messages(server, database_url) - before
            r["acknowledged"] = r["statuses"].get("303", 0)
            results[f"S2_{conns}"] = r
            print(f"    acknowledged {r['acknowledged']}, rows added {r['stored']}, lost {max(0, r['acknowledged'] - r['stored'])}", flush=True)
        results["S3"] = server.measure("S3 heavy patient's Secure Inbox, 16 connections", connections=16, seconds=seconds,
                                script="lua/get.lua", env={**lua_env, "BENCH_WHO": "heavy", "BENCH_PATH": "/inbox"})
        results["S4_50"] = server.measure("S4 50-message thread, 16 connections", connections=16, seconds=seconds,
                                   script="lua/get.lua", env={**lua_env, "BENCH_WHO": "page", "BENCH_PATH": f"/inbox/{manifest['pageThread']}"})
        results["S4_1000"] = server.measure("S4 1,000-message thread (newest 50), 16 connections", connections=16,
                                     seconds=seconds, script="lua/get.lua",
                                     env={**lua_env, "BENCH_WHO": "long", "BENCH_PATH": f"/inbox/{manifest['longThread']}"})
    finally:
        server.stop()
    return results


def scenario_rows(results, s0):
    lines = ["| scenario | req/s (median) | each run | ÷ S0 | p50 ms | p99 ms | server CPU ms/req | load (before → after) | answers |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results.values():
        if not isinstance(r, dict):
            continue
        answers = ", ".join(f"{n} × {s}" for s, n in sorted(r["statuses"].items())) or "200 (not counted)"
        if r.get("socket_errors"):
            answers += f", {r['socket_errors']} socket errors"
        if "stored" in r:
            answers += (f"; rows added {r['stored']} for {r['acknowledged']} acknowledged, lost "
                        f"{max(0, r['acknowledged'] - r['stored'])} (sends still in flight when wrk stops are stored, not counted)")
        lines.append(f"| {r['label']} | {r['rps']:.0f} | {' / '.join(str(x) for x in r.get('rounds_rps', []))} | {r['rps'] / s0:.3f} | "
                     f"{r['p50']} | {r['p99']} | "
                     f"{r['cpu_ms_per_request']:.3f} | {r['load'][0]:.2f} → {r['load'][1]:.2f} | {answers} |")
    return lines + [""]


def targets(all_results, cores):
    """Issues 7 and 17's targets, each with the figure of this run and whether it is met."""
    sq = all_results["sqlite"]
    s0 = sq["S0"]["rps"]
    rows = []

    def row(name, figure, met):
        rows.append(f"| {name} | {figure} | {'met' if met else '**missed**'} |")
    s2 = sq["S2_64"]
    lost = max(0, s2["acknowledged"] - s2["stored"])
    row("S2 SQLite, 64 connections: ≥ 3,000 messages/s", f"{s2['rps']:.0f}/s ({s2['rps'] / s0:.3f} × S0)", s2["rps"] >= 3000)
    row("S2 SQLite, 64 connections: p99 ≤ 25 ms", f"{s2['p99']} ms", s2["p99"] is not None and s2["p99"] <= 25)
    row("S2: zero lost", f"{lost} lost of {s2['acknowledged']} acknowledged", lost == 0)
    row("S3: ≥ 2,500 pages/s", f"{sq['S3']['rps']:.0f}/s ({sq['S3']['rps'] / s0:.3f} × S0)", sq["S3"]["rps"] >= 2500)
    row("S4 1,000-message thread: p99 ≤ 40 ms", f"{sq['S4_1000']['p99']} ms", sq["S4_1000"]["p99"] <= 40)
    ceiling = cores * 1000 / sq["busy_hash_ms"]
    share = sq["S1"]["rps"] / ceiling
    row("S1: ≥ 90 % of the hashing ceiling (every core hashing)", f"{100 * share:.0f} % ({sq['S1']['rps']:.1f} of {ceiling:.1f}/s)",
        share >= 0.9)
    storm = sq["inbox_storm"]["p99"] / sq["inbox_idle"]["p99"]
    row("Secure Inbox p99 during a sign-in storm ≤ 3× unloaded", f"{storm:.1f}×", storm <= 3)
    if "synapse_sqlite" in all_results:
        syn = all_results["synapse_sqlite"]["S2_64"]
        row("S2 throughput ≥ 20× Synapse's", f"{s2['rps'] / syn['rps']:.1f}×", s2["rps"] >= 20 * syn["rps"])
        row("S2 p50 ≤ 1/10 of Synapse's", f"{s2['p50'] / syn['p50']:.3f}", s2["p50"] <= syn["p50"] / 10)
    # Issue 17 (typed views): ratios to S0, since machines here differ by more than 2×.
    s3, s4, s4k = sq["S3"], sq["S4_50"], sq["S4_1000"]
    row("S3 heavy patient's Secure Inbox ≥ 0.13 × S0 (issue 17)", f"{s3['rps']:.0f}/s ({s3['rps'] / s0:.3f} × S0)", s3["rps"] >= 0.13 * s0)
    row("S4 50-message thread ≥ 0.063 × S0 (issue 17)", f"{s4['rps']:.0f}/s ({s4['rps'] / s0:.3f} × S0)", s4["rps"] >= 0.063 * s0)
    row("S4 1,000-message thread: p99 ≤ 30 ms (issue 17)", f"{s4k['p99']} ms", s4k["p99"] is not None and s4k["p99"] <= 30)
    if "synapse_sqlite" in all_results:
        read50 = all_results["synapse_sqlite"]["read50"]
        row("Thread read ≥ 8× Synapse's latest 50 messages (issue 17)", f"{s4['rps'] / read50['rps']:.1f}×", s4["rps"] >= 8 * read50["rps"])
    return ["## Targets (issues 7 and 17)", "", "| target | this run | |", "|---|---|---|", *rows, "",
            "S3 runs 2 SQL statements per page (the session with the signed-in person, the page's rows): "
            "ReadPathTests counts them from the driver's log and holds them at exactly 2 (the target is 3 or fewer).", ""]


def before_and_after(all_results, before_path):
    """This run beside an earlier report's JSON, as ratios to each run's own S0."""
    before = json.loads(before_path.read_text())
    lines = [f"## Before and after (before: `{before_path.relative_to(REPO)}`; see `bench/PROFILE.md` for what changed)", "",
             "| scenario | before req/s | ÷ its S0 | before p99 ms | now req/s | ÷ its S0 | now p99 ms |", "|---|---|---|---|---|---|---|"]
    for engine in ("sqlite", "postgresql"):
        if engine not in before or engine not in all_results:
            continue
        s0_before, s0_now = before["sqlite"]["S0"]["rps"], all_results["sqlite"]["S0"]["rps"]
        for key, then in before[engine].items():
            now = all_results[engine].get(key)
            if not isinstance(then, dict) or not isinstance(now, dict):
                continue
            lines.append(f"| {engine}: {now['label']} | {then['rps']:.0f} | {then['rps'] / s0_before:.4f} | {then['p99']} | "
                         f"{now['rps']:.0f} | {now['rps'] / s0_now:.4f} | {now['p99']} |")
    return lines + [""]


def comparison(all_results, engine):
    """CaseTalk ÷ Synapse on the same engine, from the same run."""
    ours, theirs = all_results[engine], all_results[f"synapse_{engine}"]
    lines = [f"### CaseTalk ÷ Synapse {theirs['version']} ({engine})", "",
             "| scenario | throughput × | p50 ÷ | CPU per request ÷ |", "|---|---|---|---|"]
    pairs = [("S2 send, 16 connections", "S2_16", "S2_16"), ("S2 send, 64 connections", "S2_64", "S2_64"),
             ("latest 50 messages (CaseTalk: S4 50-message thread page)", "S4_50", "read50")]
    for label, a, b in pairs:
        x, y = ours[a], theirs[b]
        lines.append(f"| {label} | {x['rps'] / y['rps']:.1f} | {x['p50'] / y['p50']:.3f} | "
                     f"{x['cpu_ms_per_request'] / y['cpu_ms_per_request']:.3f} |")
    return lines + ["", "Synapse serves the read as JSON; CaseTalk renders the whole HTML page (layout, thread, "
                        "reply form) and marks the patient's messages read, so that row compares more work with less.", ""]


def report(all_results, seconds, started_load, path, before_path=None):
    cores = os.cpu_count()
    lines = [f"# CaseTalk benchmark, {datetime.date.today().isoformat()}", "",
             f"Machine: {cores} cores, load average {started_load:.2f} at the start; client (wrk) and server share it.",
             f"Each scenario runs {ROUNDS} times for {seconds} s on loopback (the table gives the median run and every "
             "run's req/s: the same build varies by about a quarter from run to run here), release build, production "
             "environment, log level notice, rate limits off. Ratios are to S0 (the same binary answering /healthz) "
             "in the same run.", ""]
    s0 = all_results["sqlite"]["S0"]["rps"]
    lines += targets(all_results, cores)
    if before_path:
        lines += before_and_after(all_results, before_path)
    for engine in ("sqlite", "postgresql"):
        if engine not in all_results:
            continue
        results = all_results[engine]
        lines += [f"## CaseTalk on {engine}", ""] + scenario_rows(results, s0)
        if "hash_ms" in results:
            alone = cores * 1000 / results["hash_ms"]
            ceiling = cores * 1000 / results["busy_hash_ms"]
            lines += [f"S1: one password hash takes {results['hash_ms']:.1f} ms on one core alone and "
                      f"{results['busy_hash_ms']:.1f} ms with all {cores} cores hashing (scrypt is memory-hard: hashes side by "
                      f"side share the memory bus), so the hashing ceiling is {ceiling:.1f} sign-ins/s ({alone:.1f} if each "
                      f"hash ran as fast as one alone); S1 reached {results['S1']['rps']:.1f} "
                      f"({100 * results['S1']['rps'] / ceiling:.0f} % of the ceiling, {100 * results['S1']['rps'] / alone:.0f} % of "
                      f"the one-alone figure). Secure Inbox p99: {results['inbox_idle']['p99']} ms alone, "
                      f"{results['inbox_storm']['p99']} ms during the storm "
                      f"({results['inbox_storm']['p99'] / results['inbox_idle']['p99']:.1f}×).", ""]
        if f"synapse_{engine}" in all_results:
            syn = all_results[f"synapse_{engine}"]
            lines += [f"## Matrix Synapse {syn['version']} on {engine}, same wrk settings", ""] + scenario_rows(syn, s0)
            lines += comparison(all_results, engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True, type=lambda p: str(pathlib.Path(p).resolve()))
    parser.add_argument("--seconds", type=int, default=5, help="per run; each scenario runs three times")
    parser.add_argument("--postgres-url", default="")
    parser.add_argument("--no-synapse", action="store_true", help="leave out Matrix Synapse")
    parser.add_argument("--before", default=str(HERE / "results" / "2026-11-25.json"),
                        help="an earlier report's JSON to compare with (default: the first report)")
    parser.add_argument("--out", default=str(HERE / "results" / f"{datetime.date.today().isoformat()}.md"))
    args = parser.parse_args()
    started_load = os.getloadavg()[0]
    workroot = pathlib.Path(tempfile.mkdtemp(prefix="casetalk-bench-"))
    try:
        results = {"sqlite": run_engine(args.binary, "sqlite", "", args.seconds, workroot)}
        if not args.no_synapse:
            results["synapse_sqlite"] = synapse_bench.run("sqlite", args.seconds, workroot / "synapse-sqlite")
        if args.postgres_url:
            results["postgresql"] = run_engine(args.binary, "postgresql", args.postgres_url, args.seconds, workroot)
            if not args.no_synapse:
                results["synapse_postgresql"] = synapse_bench.run("postgresql", args.seconds, workroot / "synapse-postgresql",
                                                                  database_url=args.postgres_url)
        before = pathlib.Path(args.before).resolve()
        report(results, args.seconds, started_load, pathlib.Path(args.out), before if before.exists() else None)
        (pathlib.Path(args.out).with_suffix(".json")).write_text(json.dumps(
            {e: {k: ({kk: vv for kk, vv in v.items() if kk != "raw"} if isinstance(v, dict) else v) for k, v in r.items()}
             for e, r in results.items()}, indent=1))
    finally:
        shutil.rmtree(workroot, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
