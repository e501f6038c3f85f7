"""The command-line tools of SPEC §7, run as an operator would, on a fresh SQLite database."""
import re
import sqlite3
import time

UUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


def test_a_missing_common_password_list_stops_start_up_with_a_reason(casetalk):
    (casetalk.workdir / "Public").unlink()
    result = casetalk("migrate", "--yes")
    assert result.returncode == 1
    assert "common-password list is missing" in result.stderr


def test_migrate_on_a_new_database(casetalk):
    result = casetalk("migrate", "--yes")
    assert result.returncode == 0, result.stderr
    assert (casetalk.workdir / "var" / "casetalk.sqlite").exists()
    tables = {row[0] for row in sqlite3.connect(casetalk.workdir / "var" / "casetalk.sqlite").execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"practices", "staff_users", "cases", "case_members", "sessions", "audit_entries", "outbox",
            "invitations", "invitation_tokens"} <= tables
    verify = casetalk("audit", "verify")
    assert verify.returncode == 0 and "intact: 0 entries" in verify.stdout


def test_practice_staff_demo_and_audit_verify(casetalk):
    practice = casetalk("practice", "create", "--name", "Lakeview Pediatric Dentistry")
    assert practice.returncode == 0, practice.stderr
    practice_id = practice.stdout.strip()
    assert UUID.match(practice_id)

    weak = casetalk("staff", "create", "--practice", practice_id, "--email", "kim@lakeview.example",
                    "--name", "Dr. Kim Lee", "--role", "doctor", stdin="short\n")
    assert weak.returncode == 1
    assert "must be 12 to 128 characters long" in weak.stderr

    staff = casetalk("staff", "create", "--practice", practice_id, "--email", "kim@lakeview.example",
                     "--name", "Dr. Kim Lee", "--role", "doctor", "--admin", stdin="a sound long passphrase\n")
    assert staff.returncode == 0, staff.stderr
    assert UUID.match(staff.stdout.strip())

    again = casetalk("staff", "create", "--practice", practice_id, "--email", "KIM@lakeview.example",
                     "--name", "Someone Else", "--role", "staff", stdin="another long passphrase\n")
    assert again.returncode == 1
    assert "already exists" in again.stderr

    demo = casetalk("demo")
    assert demo.returncode == 0, demo.stderr
    assert "maya.chen@riverside.example" in demo.stdout

    intact = casetalk("audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert "Audit trail intact" in intact.stdout

    # The database refuses an edit of the trail; someone who drops its guard can make one, and then
    # the chain no longer verifies.
    db = sqlite3.connect(casetalk.workdir / "var" / "casetalk.sqlite")
    try:
        db.execute("UPDATE audit_entries SET actor_id = 'someone-else' WHERE seq = 2")
        raise AssertionError("the audit trail accepted an UPDATE")
    except sqlite3.DatabaseError as refused:
        assert "append-only" in str(refused)
    db.execute("DROP TRIGGER audit_entries_no_update")
    db.execute("UPDATE audit_entries SET actor_id = 'someone-else' WHERE seq = 2")
    db.commit()
    db.close()
    broken = casetalk("audit", "verify")
    assert broken.returncode == 1
    assert "broken at entry 2" in broken.stderr


def test_a_signed_head_catches_a_trail_cut_back_with_its_head_row(casetalk):
    """Review M5: deleting the newest entries and moving `audit_head` back passed `audit verify`. The
    head the server signs (and logs every minute) is kept outside the database; given it, verify fails."""
    assert casetalk("demo").returncode == 0
    head = casetalk("audit", "head")
    assert head.returncode == 0, head.stderr
    token = head.stdout.strip()
    assert re.fullmatch(r"casetalk-audit-head:\d+:[0-9a-f]{64}:\d+:[0-9a-f]{64}", token), token
    log = casetalk.workdir / "server.log"
    log.write_text(f"2026-12-02T03:00:00Z [ NOTICE ] audit head {token}\n2026-12-02T03:00:01Z [ INFO ] GET /login\n")
    assert casetalk("audit", "verify", "--head", str(log)).returncode == 0

    db = sqlite3.connect(casetalk.workdir / "var" / "casetalk.sqlite")
    total = db.execute("SELECT seq FROM audit_head").fetchone()[0]
    db.execute("DROP TRIGGER audit_entries_no_delete")
    db.execute("DELETE FROM audit_entries WHERE seq > ?", (total - 3,))
    kept = db.execute("SELECT hash FROM audit_entries WHERE seq = ?", (total - 3,)).fetchone()[0]
    db.execute("UPDATE audit_head SET seq = ?, hash = ?", (total - 3, kept))
    db.commit()
    db.close()
    alone = casetalk("audit", "verify")
    assert alone.returncode == 0, "the database alone cannot tell"
    for given in (token, str(log)):
        cut = casetalk("audit", "verify", "--head", given)
        assert cut.returncode == 1 and f"entries from {total - 2} on are missing" in cut.stderr, cut.stderr
    forged = token[:-64] + "0" * 64
    refused = casetalk("audit", "verify", "--head", forged)
    assert refused.returncode == 1 and "not signed with this audit key" in refused.stderr, refused.stderr


PRODUCTION = {  # every setting production asks for, pointing nowhere that is used here
    "PUBLIC_BASE_URL": "https://casetalk.example", "SMTP_URL": "smtp://127.0.0.1:9", "TWILIO_ACCOUNT_SID": "AC1",
    "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+15005550006",
    "CASETALK_DATA_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "CASETALK_AUDIT_KEY": "ZTJlLWF1ZGl0LWtleS1lMmUtYXVkaXQta2V5LTMyMzI=",
}


def test_only_three_environments_and_development_only_on_loopback(casetalk):
    """Review M3: any other environment name failed open; without --env the server took any address."""
    staging = casetalk("serve", "--env", "staging", "--port", "0")
    assert staging.returncode == 1 and "Unknown environment \"staging\"" in staging.stderr, staging.stderr
    assert not (casetalk.workdir / "var" / "data.key").exists(), "refused before a key was made"
    open_to_all = casetalk("serve", "--hostname", "0.0.0.0", "--port", "0")
    assert open_to_all.returncode == 1 and "only on a loopback address" in open_to_all.stderr, open_to_all.stderr
    lookalike = casetalk("serve", "--hostname", "127.example.com", "--port", "0")
    assert lookalike.returncode == 1, "a name that starts with 127 is not loopback"


def test_demo_and_bench_seeding_refuse_production(casetalk):
    """Review M3: `casetalk demo --env production` seeded accounts with the published password.
    Issue 18: the benchmark's seeding is not in the product at all, only in casetalk-bench."""
    assert casetalk("bench", "seed", "--env", "production", env=PRODUCTION).returncode != 0
    assert "bench" not in casetalk("--help").stdout
    for command in (["demo"], ["seed", "--manifest", str(casetalk.workdir / "m.json")]):
        tool = "casetalk-bench" if command[0] == "seed" else None
        answer = casetalk(*command, "--env", "production", env=PRODUCTION, tool=tool)
        assert answer.returncode == 1 and "does not run in production" in answer.stderr, (command, answer.stderr)
    db = casetalk.workdir / "var" / "casetalk.sqlite"
    if db.exists():   # refused before anything was migrated or seeded
        tables = {row[0] for row in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "staff_users" not in tables, tables


def test_the_data_folder_is_the_server_accounts_alone(casetalk):
    """Review L5: `var/` was 0755 and the SQLite file and its WAL 0644."""
    assert casetalk("migrate", "--yes").returncode == 0
    var = casetalk.workdir / "var"
    assert (var.stat().st_mode & 0o777) == 0o700
    for name in ("casetalk.sqlite", "data.key"):
        assert ((var / name).stat().st_mode & 0o077) == 0, name
    for extra in var.glob("casetalk.sqlite-*"):
        assert (extra.stat().st_mode & 0o077) == 0, extra.name


def test_a_read_only_command_on_a_new_database_says_what_to_run(casetalk):
    """Issue 18: `audit verify` on a database never migrated printed SQLite's "no such table" twice."""
    for command in (["audit", "verify"], ["audit", "head"]):
        answer = casetalk(*command)
        assert answer.returncode == 1, (command, answer.stdout, answer.stderr)
        assert "no such table" not in answer.stdout + answer.stderr
        lines = answer.stderr.strip().splitlines()
        assert len(lines) == 1 and "casetalk migrate" in lines[0], (command, answer.stderr)


def test_first_start_says_what_matters_in_a_few_lines():
    """Issue 18: start-up printed 42 lines of migrations before the demo sign-ins, and the mailbox
    link said port 8080 whatever --port chose."""
    from conftest import CaseTalkServer
    server = CaseTalkServer(extra_env={"PUBLIC_BASE_URL": "http://127.0.0.1:8080"}, name="first-start")
    try:
        deadline = time.monotonic() + 20
        while "Links in emails use" not in server.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = server.log_text()
    finally:
        server.stop()
    assert "[Migrator]" not in log
    start = log[:log.index("CaseTalk is serving")]
    assert "Demo sign-ins" in start and len(start.splitlines()) <= 10, start
    assert f"CaseTalk is serving http://127.0.0.1:{server.port} (SQLite" in log
    assert f"Development mailbox: http://127.0.0.1:{server.port}/dev/mailbox" in log
    assert "Links in emails use PUBLIC_BASE_URL (http://127.0.0.1:8080)" in log
