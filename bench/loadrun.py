"""What every load run in bench/ shares: free loopback ports, a process's CPU time from /proc,
and wrk bounded in connections and seconds, parsed into req/s, p50/p99 and answers by status."""
import json
import os
import pathlib
import re
import socket
import subprocess

HERE = pathlib.Path(__file__).resolve().parent
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_sessions(path, value):
    """Writes `value` (dicts, lists, strings, numbers) as a Lua file returning it, for the wrk scripts."""
    def lua(v):
        if isinstance(v, dict):
            return "{" + ", ".join(f"[{json.dumps(k)}] = {lua(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "{" + ", ".join(lua(x) for x in v) + "}"
        return json.dumps(v)
    path.write_text("return " + lua(value) + "\n")


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` so far (all its threads)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def wrk(base, connections, seconds, script=None, path="/", env=None, threads=2):
    """One wrk run on loopback; `script` is a Lua file under bench/ (e.g. "lua/send.lua")."""
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        args += ["-s", str(HERE / script)]
    out = subprocess.run(args + [base + path], capture_output=True, text=True, env={**os.environ, **(env or {})},
                         timeout=seconds + 60).stdout

    def latency(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return None
        return round(float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)], 3)
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    statuses = dict(re.findall(r"(\d{3})=(\d+)", (re.search(r"^statuses: (.*)$", out, re.M) or [None, ""])[1]))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": latency("50"), "p99": latency("99"),
            "requests": requests_done, "statuses": {k: int(v) for k, v in statuses.items()},
            "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0, "raw": out}


def processes_named(name):
    """Pids of the running processes whose command is `name` (the PostgreSQL server's processes)."""
    pids = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split(" (", 1)[1].split(")", 1)[0] == name:
                pids.append(int(stat.parent.name))
        except (OSError, IndexError):
            pass
    return pids


ROUNDS = 3


def measure(base, pids, label, rounds=None, **kwargs):
    """wrk against `base` `rounds` times, with the CPU time the processes `pids` (a list, or a
    function giving one, called around each round) spent in each. The same build varies by a
    quarter from run to run on a shared 2-core machine, so the figures are the median round's
    (by req/s), every round's req/s is kept, and answers are counted over all rounds."""
    choose = pids if callable(pids) else (lambda: pids)

    def cpu_by_pid():
        seconds = {}
        for pid in choose():
            try:
                seconds[pid] = cpu_seconds(pid)
            except OSError:   # ended meanwhile
                pass
        return seconds
    results = []
    load_before = os.getloadavg()[0]
    for _ in range(rounds or ROUNDS):
        before = cpu_by_pid()
        result = wrk(base, **kwargs)
        # A process started during the round counts from zero; one that ended during it is not counted.
        spent = sum(now - before.get(pid, 0.0) for pid, now in cpu_by_pid().items())
        result["cpu_ms_per_request"] = spent * 1000 / max(result["requests"], 1)
        results.append(result)
    median = sorted(results, key=lambda r: r["rps"])[len(results) // 2]
    total = {}
    for r in results:
        for status, n in r["statuses"].items():
            total[status] = total.get(status, 0) + n
    median = {**median, "statuses": total, "requests": sum(r["requests"] for r in results),
              "socket_errors": sum(r["socket_errors"] for r in results), "rounds_rps": [round(r["rps"]) for r in results],
              "load": (load_before, os.getloadavg()[0]), "label": label}
    print(f"  {label}: {median['rps']:.0f} req/s (rounds {median['rounds_rps']}), p50 {median['p50']} ms, p99 {median['p99']} ms, "
          f"{median['cpu_ms_per_request']:.3f} ms CPU/req, statuses {median['statuses']}", flush=True)
    return median


def wait_ready(proc, url, seconds, log):
    """Polls `url` until it answers 200, while `proc` runs; `log` is named if it does not."""
    import time
    import requests
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited at start; see {log}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not become ready; see {log}")


def stop(proc, signal_number):
    """Asks `proc` to stop with `signal_number`; kills it after 30 s."""
    import subprocess
    if proc.poll() is None:
        proc.send_signal(signal_number)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
