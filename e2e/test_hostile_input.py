"""Hostile input against every form CaseTalk has, generated with hypothesis: overlong fields,
malformed UTF-8, NUL, bidi and zero-width characters, HTML and script, header injection, missing
fields and wrong shapes, missing and foreign CSRF tokens, huge bodies. Pass: never a 500, never
stored script rendered as HTML, nothing stored on a rejection, and every rejection says what is
wrong in words."""
import re
import sqlite3
import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CSRF, DEMO_PASSWORD, LENA, MAYA, CaseTalkServer, requests_sign_in

SCRIPT = "<script>alert(1)</script>"
HOSTILE = [
    SCRIPT, "<img src=x onerror=alert(1)>", "\u202eevil\u202c", "zero\u200bwidth", "nul\x00byte", "a" * 6000,
    "\r\nBcc: victim@example.com", "' OR 1=1 --", "javascript:alert(1)", "../../etc/passwd", "𝕏" * 300, "", " ",
    "%00", "\ufeffbom", "line\nbreak", "{{7*7}} #(chrome.csrf)",
]
TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300),
                 st.lists(st.sampled_from(HOSTILE), min_size=2, max_size=4).map("".join))
RUN = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
# What a rejection looks like on CaseTalk's pages: a summary, a field message, or the error page.
EXPLAINED = re.compile(r'class="(error-summary|field-error)"|role="alert"|id="error-heading"')


@pytest.fixture(scope="module")
def app():
    # Rate limits off: this suite sends hundreds of requests from one address on purpose.
    server = CaseTalkServer({"CASETALK_RATE_LIMITS": "off"}, name="hostile-server")
    yield server
    server.stop()


def session_for(base, email=None):
    if not email:
        session = requests.Session()
        session.get(base + "/login", timeout=10)
        return session
    session, answer = requests_sign_in(base, email)
    assert answer.status_code == 303 and not answer.headers["Location"].startswith("/login")
    return session


def token(session, url):
    return CSRF.search(session.get(url, timeout=10).text).group(1)


def count(app, table):
    with sqlite3.connect(app.workdir / "var" / "casetalk.sqlite") as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def check(answer, what):
    assert answer.status_code < 500, f"{what}: {answer.status_code}"
    body = answer.text
    assert SCRIPT not in body and "<img src=x" not in body, f"{what}: script rendered as HTML"
    if 400 <= answer.status_code < 500:
        assert EXPLAINED.search(body), f"{what}: a {answer.status_code} without a message"


@pytest.fixture(scope="module")
def doctor(app):
    session = session_for(app.base, MAYA)
    cases = session.get(app.base + "/cases", timeout=10).text
    case_id = re.search(r'href="/cases/([0-9A-Fa-f-]{36})"[^>]*aria-label="View case of Sam Ortega"', cases).group(1)
    return session, case_id


@RUN
@given(email=TEXT, password=TEXT)
def test_sign_in(app, email, password):
    session = session_for(app.base)
    answer = session.post(app.base + "/login", data={"_csrf": token(session, app.base + "/login"), "email": email, "password": password},
                          allow_redirects=False, timeout=10)
    check(answer, "sign-in")
    assert answer.status_code in (401, 429), "no hostile sign-in gets in"


@RUN
@given(email=TEXT)
def test_forgot_password(app, email):
    session = session_for(app.base)
    before = count(app, "password_resets")
    answer = session.post(app.base + "/password/forgot", data={"_csrf": token(session, app.base + "/password/forgot"), "email": email},
                          allow_redirects=False, timeout=10)
    check(answer, "forgot password")
    assert count(app, "password_resets") == before


@RUN
@given(first=TEXT, last=TEXT, title=TEXT, dob=TEXT, email=TEXT, notes=TEXT)
def test_new_case(app, doctor, first, last, title, dob, email, notes):
    session, _ = doctor
    before = count(app, "cases")
    answer = session.post(app.base + "/cases", allow_redirects=False, timeout=10, data={
        "_csrf": token(session, app.base + "/cases/new"), "first_name": first, "last_name": last, "title": title,
        "date_of_birth": dob, "patient_email": email, "notes": notes})
    check(answer, "new case")
    if answer.status_code == 303:
        page = session.get(app.base + answer.headers["Location"], timeout=10)
        check(page, "the new case's page")
    else:
        assert count(app, "cases") == before, "a refused case stores nothing"


@RUN
@given(body=TEXT)
def test_patient_talk_message(app, doctor, body):
    session, case_id = doctor
    talk = f"{app.base}/cases/{case_id}/talk"
    before = count(app, "messages")
    answer = session.post(talk, data={"_csrf": token(session, talk), "body": body}, allow_redirects=False, timeout=10)
    check(answer, "message")
    if answer.status_code == 303:
        check(session.get(talk, timeout=10), "the thread")   # stored script is shown as text
    else:
        assert count(app, "messages") == before


@RUN
@given(email=TEXT, confirm=TEXT)
def test_invite(app, doctor, email, confirm):
    session, case_id = doctor
    before = count(app, "outbox")
    answer = session.post(f"{app.base}/cases/{case_id}/invite", allow_redirects=False, timeout=10,
                          data={"_csrf": token(session, f"{app.base}/cases/{case_id}/invite"), "email": email, "confirm_email": confirm})
    check(answer, "invite")
    if answer.status_code != 303:
        assert count(app, "outbox") == before


@RUN
@given(query=TEXT)
def test_member_search(app, doctor, query):
    session, case_id = doctor
    check(session.get(f"{app.base}/cases/{case_id}", params={"q": query}, timeout=10), "member search")


def test_malformed_requests(app, doctor):
    session, case_id = doctor
    talk = f"{app.base}/cases/{case_id}/talk"
    before = count(app, "messages")
    csrf = token(session, talk)
    attempts = {
        "malformed UTF-8": dict(data=b"_csrf=" + csrf.encode() + b"&body=%FF%FE%00", headers={"Content-Type": "application/x-www-form-urlencoded"}),
        "missing fields": dict(data={"_csrf": csrf}),
        "a list for a field": dict(data=[("_csrf", csrf), ("body[]", "a"), ("body[]", "b")]),
        "JSON instead of a form": dict(json={"_csrf": csrf, "body": 5}),
        "no CSRF token": dict(data={"body": "hello"}),
        "another session's CSRF token": dict(data={"_csrf": token(session_for(app.base), app.base + "/login"), "body": "hello"}),
        "a huge body": dict(data={"_csrf": csrf, "body": "x" * 3_000_000}),
    }
    for what, request in attempts.items():
        answer = session.post(talk, allow_redirects=False, timeout=30, **request)
        check(answer, what)
        assert answer.status_code in (400, 403, 413, 415, 422), f"{what}: {answer.status_code}"
    assert count(app, "messages") == before, "nothing was stored"
    # Forged and malformed ids in the URL.
    for path in (f"/cases/{case_id[:-1]}0/talk", "/cases/not-an-id/talk", "/inbox/00000000-0000-0000-0000-000000000000",
                 "/cases/%00/talk", "/cases/" + "9" * 5000):
        check(session.get(app.base + path, allow_redirects=False, timeout=10), path)


# The patient's forms: each registration step, then the Secure Inbox reply. One invitation is
# walked forward with good input only when a test needs the next step; hostile input never moves it.
PATIENT = "hostile.patient@patients.example"
PATIENT_PASSWORD = "granite-harbor-lantern-42"
MOBILE = "(212) 555-0188"


def mailbox_text(app, session, recipient, pattern):
    """The newest development-mailbox item to `recipient` whose text matches `pattern` (the outbox
    worker delivers within seconds)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listing = session.get(app.base + "/dev/mailbox", timeout=10).text
        for item in re.findall(r'<td data-label="To">' + re.escape(recipient) + r'</td>\s*<td data-label="Subject"><a href="(/dev/mailbox/[^"]+)"', listing):
            found = re.search(pattern, session.get(app.base + item, timeout=10).text)
            if found:
                return found
        time.sleep(0.5)
    raise AssertionError(f"nothing in the development mailbox for {recipient} matching {pattern}")


def registration_row(app):
    with sqlite3.connect(app.workdir / "var" / "casetalk.sqlite") as db:
        return db.execute("SELECT * FROM registrations").fetchall()


class PatientWalk:
    """A registration in progress, moved forward one good step at a time."""
    STEPS = ["birth-date", "phones", "method", "code", "terms", "password", "done"]

    def __init__(self, app, doctor_session):
        self.app, self.doctor = app, doctor_session
        cases = doctor_session.get(app.base + "/cases", timeout=10).text
        self.case_id = re.search(r'href="/cases/([0-9A-Fa-f-]{36})"[^>]*aria-label="View case of Priya Patel"', cases).group(1)
        invite = f"{app.base}/cases/{self.case_id}/invite"
        answer = doctor_session.post(invite, allow_redirects=False, timeout=10,
                                     data={"_csrf": token(doctor_session, invite), "email": PATIENT, "confirm_email": PATIENT})
        assert answer.status_code == 303, answer.status_code
        link = mailbox_text(app, doctor_session, PATIENT, r'(http://127\.0\.0\.1:\d+/register/[A-Za-z0-9_-]+)').group(1)
        self.session = requests.Session()
        assert self.session.get(link, timeout=10).url.endswith("/register/birth-date")
        self.step = "birth-date"

    def post(self, step, data):
        url = f"{self.app.base}/register/{step}"
        return self.session.post(url, data={"_csrf": token(self.session, url), **data}, allow_redirects=False, timeout=10)

    def at(self, step):
        """Moves forward with good input until `step` is the current one."""
        good = {
            "birth-date": lambda: self.post("birth-date", {"birth_date": "1993-09-30"}),
            "phones": lambda: self.post("phones", {"mobile": MOBILE, "home": "", "work": ""}),
            "method": lambda: self.post("method", {"route": "sms-mobile"}),
            "code": lambda: self.post("code", {"code": mailbox_text(
                self.app, self.doctor, "+12125550188", r"verification code is (\d{6})\.").group(1)}),
            "terms": lambda: self.post("terms", {"read": "yes"}),
            "password": lambda: self.post("password", {"password": PATIENT_PASSWORD, "confirmation": PATIENT_PASSWORD}),
        }
        while self.STEPS.index(self.step) < self.STEPS.index(step):
            answer = good[self.step]()
            assert answer.status_code == 303, f"{self.step}: {answer.status_code}"
            self.step = self.STEPS[self.STEPS.index(self.step) + 1]


@pytest.fixture(scope="module")
def walk(app, doctor):
    return PatientWalk(app, doctor[0])


def refused_and_unchanged(app, walk, step, data, what):
    before = registration_row(app), count(app, "patients")
    answer = walk.post(step, data)
    check(answer, what)
    assert answer.status_code != 303, f"{what}: hostile input moved the registration on"
    assert (registration_row(app), count(app, "patients")) == before, f"{what}: a refusal changed the registration"


@RUN
@given(birth_date=TEXT)
def test_registration_birth_date(app, walk, birth_date):
    """Hostile text is no date: refused without counting a wrong answer (3 would end the link)."""
    walk.at("birth-date")
    refused_and_unchanged(app, walk, "birth-date", {"birth_date": birth_date}, "date of birth")


@RUN
@given(mobile=TEXT, home=TEXT, work=TEXT)
def test_registration_phone_numbers(app, walk, mobile, home, work):
    walk.at("phones")
    refused_and_unchanged(app, walk, "phones", {"mobile": mobile, "home": home, "work": work}, "phone numbers")


@RUN
@given(route=TEXT)
def test_registration_delivery_method(app, walk, route):
    walk.at("method")
    refused_and_unchanged(app, walk, "method", {"route": route}, "delivery method")


@RUN
@given(code=TEXT.filter(lambda s: not re.fullmatch(r"\s*[0-9]{6}\s*", s)))
def test_registration_code(app, walk, code):
    walk.at("code")
    refused_and_unchanged(app, walk, "code", {"code": code}, "code")   # unchanged: a malformed code burns no try


@RUN
@given(read=TEXT, scrolled=TEXT)
def test_registration_terms(app, walk, read, scrolled):
    walk.at("terms")
    if "yes" in (read, scrolled):
        return
    refused_and_unchanged(app, walk, "terms", {"read": read, "scrolled": scrolled}, "terms")


@RUN
@given(password=TEXT, confirmation=TEXT)
def test_registration_password(app, walk, password, confirmation):
    walk.at("password")
    if password == confirmation:
        confirmation += "-"   # a matching pair might be a good password; this suite is about refusals
    refused_and_unchanged(app, walk, "password", {"password": password, "confirmation": confirmation}, "password")


@pytest.fixture(scope="module")
def patient(app, walk):
    walk.at("done")
    session = requests.Session()
    # The browser that registered is remembered (SPEC §5): its device cookie skips the phone code.
    session.cookies.set("casetalk_device", walk.session.cookies.get("casetalk_device"))
    page = session.get(app.base + "/login", timeout=10).text
    answer = session.post(app.base + "/login", allow_redirects=False, timeout=10,
                          data={"_csrf": CSRF.search(page).group(1), "email": PATIENT, "password": PATIENT_PASSWORD})
    assert answer.status_code == 303
    talk = f"{app.base}/cases/{walk.case_id}/talk"
    assert walk.doctor.post(talk, data={"_csrf": token(walk.doctor, talk), "body": "How are the aligners?"},
                            allow_redirects=False, timeout=10).status_code == 303
    conversation = re.search(r'href="/inbox/([0-9A-Fa-f-]{36})"', session.get(app.base + "/inbox", timeout=10).text).group(1)
    return session, f"{app.base}/inbox/{conversation}"


@RUN
@given(body=TEXT)
def test_inbox_reply(app, patient, body):
    session, thread = patient
    before = count(app, "messages")
    answer = session.post(thread, data={"_csrf": token(session, thread), "body": body}, allow_redirects=False, timeout=10)
    check(answer, "reply")
    if answer.status_code == 303:
        check(session.get(thread, timeout=10), "the patient's thread")
    else:
        assert count(app, "messages") == before


@RUN
@given(code=TEXT, kind=st.sampled_from(["code", "recovery_code"]))
def test_two_step_code(app, code, kind):
    """Lena's right password, then a hostile code or recovery code: refused with a message, and
    the session still names nobody."""
    session = requests.Session()
    page = session.get(app.base + "/login", timeout=10).text
    answer = session.post(app.base + "/login", data={"_csrf": CSRF.search(page).group(1), "email": LENA, "password": DEMO_PASSWORD},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 303 and answer.headers["Location"] == "/login/two-step"
    url = app.base + "/login/two-step"
    reply = session.post(url, data={"_csrf": token(session, url), kind: code}, allow_redirects=False, timeout=10)
    check(reply, "two-step " + kind)
    assert reply.status_code in (401, 422), reply.status_code
    assert session.get(app.base + "/cases", allow_redirects=False, timeout=10).status_code == 303, "not signed in"


# Attachments (SPEC §8): hostile file names, contents, counts and malformed forms. Pass: never a
# 5xx, every refusal explained, and on a refusal no message, no row and no stored file.
PHOTO = (__import__("pathlib").Path(__file__).resolve().parent.parent / "Tests" / "CaseTalkAppTests" / "Fixtures"
         / "phone-photo.jpg").read_bytes()
CONTENTS = st.one_of(
    st.sampled_from([PHOTO, PHOTO[:300], PHOTO[:2], b"", b"%PDF-1.7\n%%EOF\n", b"<html><script>alert(1)</script></html>",
                     b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', b"PK\x03\x04zip",
                     b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"\xff\xd8\xff\xe0" + b"\xff" * 100]),
    st.binary(max_size=3000))
NAMES = st.one_of(TEXT, st.sampled_from(["photo.jpg", "../../etc/passwd", "a\"b.jpg", "x\r\nContent-Type: text/html", "invoice\u202efdp.exe"]))


def stored_files(app):
    root = app.workdir / "var" / "attachments"
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def multipart(parts, boundary="hostileBoundary42"):
    out = b""
    for name, filename, content in parts:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
        if filename is not None:
            head += f'; filename="{filename}"\r\nContent-Type: application/octet-stream'
        out += (head + "\r\n\r\n").encode("utf-8", "surrogatepass") + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


@RUN
@given(body=TEXT, files=st.lists(st.tuples(NAMES, CONTENTS), max_size=3),
       csrf=st.sampled_from(["first", "last", "missing", "wrong"]), cut=st.sampled_from([0, 0, 0, 1, 7, 60]),
       ahead=st.one_of(st.none(), TEXT, st.sampled_from([",", "00000000-0000-0000-0000-000000000000", "a,b"])))
def test_patient_talk_upload(app, doctor, body, files, csrf, cut, ahead):
    session, case_id = doctor
    talk = f"{app.base}/cases/{case_id}/talk"
    token_value = {"wrong": "x" * 43}.get(csrf) or token(session, talk)
    fields = [("idempotency_key", None, b"k" * 43), ("body", None, body.encode("utf-8", "surrogatepass"))]
    if ahead is not None:   # files said to be sent ahead: none of these is waiting
        fields.append(("sent_ahead", None, ahead.encode("utf-8", "surrogatepass")))
    fields += [("files", name, content) for name, content in files]
    token_part = [("_csrf", None, token_value.encode())] if csrf != "missing" else []
    data = multipart(token_part + fields if csrf != "last" else fields + token_part)
    if cut:
        data = data[:-cut]
    before = (count(app, "messages"), count(app, "attachments"), stored_files(app))
    answer = session.post(f"{app.base}/uploads/cases/{case_id}/talk", data=data, allow_redirects=False, timeout=30,
                          headers={"Content-Type": "multipart/form-data; boundary=hostileBoundary42"})
    check(answer, "upload")
    if answer.status_code == 303:
        check(session.get(talk, timeout=10), "the thread with files")
    else:
        after = (count(app, "messages"), count(app, "attachments"), stored_files(app))
        assert after == before, f"a refused upload stored something ({answer.status_code})"


@RUN
@given(files=st.lists(st.tuples(NAMES, CONTENTS), max_size=2), csrf=st.sampled_from(["first", "first", "missing", "wrong"]),
       cut=st.sampled_from([0, 0, 0, 1, 60]))
def test_a_file_sent_ahead(app, doctor, files, csrf, cut):
    """One file ahead of its message (the page's script): 201 keeps exactly one row that no
    message has; anything else is explained in plain words and keeps nothing."""
    session, case_id = doctor
    talk = f"{app.base}/cases/{case_id}/talk"
    token_value = {"wrong": "x" * 43}.get(csrf) or token(session, talk)
    parts = ([("_csrf", None, token_value.encode())] if csrf != "missing" else []) + [("files", n, c) for n, c in files]
    data = multipart(parts)
    if cut:
        data = data[:-cut]
    before = (count(app, "messages"), count(app, "attachments"), len(stored_files(app)))
    try:
        answer = session.post(f"{talk.replace('/cases/', '/uploads/cases/')}/files", data=data, allow_redirects=False, timeout=30,
                              headers={"Content-Type": "multipart/form-data; boundary=hostileBoundary42"})
    except requests.ConnectionError:
        # Refused early (no token, a malformed part), the server answers and stops reading: the
        # rest of the body, still on its way, can meet a closed connection. Nothing was kept, and
        # the server goes on answering.
        assert (count(app, "messages"), count(app, "attachments"), len(stored_files(app))) == before
        assert session.get(talk, timeout=10).status_code == 200
        return
    assert answer.status_code < 500, answer.status_code
    after = (count(app, "messages"), count(app, "attachments"), len(stored_files(app)))
    if answer.status_code == 201:
        assert re.fullmatch(r"[0-9A-F-]{36}", answer.headers["X-CaseTalk-File"]) and answer.text == ""
        assert after[0] == before[0] and after[1] == before[1] + 1, "one row, no message"
    else:
        assert after == before, f"a refused file kept something ({answer.status_code})"
        if answer.status_code == 422:
            # Words for the page's script to show as text (the file's cleaned name may hold "<").
            assert answer.headers["Content-Type"] == "text/plain; charset=utf-8" and answer.text.strip(), answer.text
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
        else:
            check(answer, "file sent ahead")


# Running a practice (SPEC §9): Dr. Chen is the demo practice's admin, in a session of its own
# (the doctor's carries the upload tests' connections, some refused early without being read).
@pytest.fixture(scope="module")
def practice_admin(app):
    return session_for(app.base, MAYA), None


def staff_id(session, base, name):
    page = session.get(base + "/practice", timeout=10).text
    return re.search(r'href="/practice/staff/([0-9A-Fa-f-]{36})/edit"[^>]*aria-label="Edit ' + re.escape(name) + '"', page).group(1)


@pytest.fixture(scope="module")
def practice_ids(app, practice_admin):
    session, _ = practice_admin
    return {name: staff_id(session, app.base, name) for name in ("Lena Brooks", "Dr. Omar Haddad")}


def staff_row(app, staff_id):
    with sqlite3.connect(app.workdir / "var" / "casetalk.sqlite") as db:
        return db.execute("SELECT name, role, is_admin, deactivated_at FROM staff_users WHERE id = ? OR id = ?",
                          (staff_id, staff_id.upper())).fetchone()


@RUN
@given(email=TEXT, name=TEXT, role=st.one_of(st.sampled_from(["doctor", "staff"]), TEXT), admin=TEXT)
def test_invite_staff(app, practice_admin, email, name, role, admin):
    session, _ = practice_admin
    practice = app.base + "/practice"
    before = count(app, "staff_invitations"), count(app, "outbox")
    answer = session.post(practice + "/invitations", data={"_csrf": token(session, practice), "email": email, "name": name,
                                                           "role": role, "admin": admin}, allow_redirects=False, timeout=10)
    check(answer, "invite staff")
    if answer.status_code == 303:
        check(session.get(practice, timeout=10), "the practice page")   # a stored name is shown as text
    else:
        assert (count(app, "staff_invitations"), count(app, "outbox")) == before, "a refused invitation stores and sends nothing"


@RUN
@given(name=TEXT, role=st.one_of(st.sampled_from(["doctor", "staff"]), TEXT), admin=TEXT)
def test_edit_staff(app, practice_admin, practice_ids, name, role, admin):
    session, _ = practice_admin
    lena = practice_ids["Lena Brooks"]
    edit = f"{app.base}/practice/staff/{lena}/edit"
    before = staff_row(app, lena)
    answer = session.post(edit, data={"_csrf": token(session, edit), "name": name, "role": role, "admin": admin},
                          allow_redirects=False, timeout=10)
    check(answer, "edit staff")
    if answer.status_code == 303:
        check(session.get(app.base + "/practice", timeout=10), "the practice page")
    else:
        assert staff_row(app, lena) == before, "a refused edit changes nothing"


@RUN
@given(everyone=TEXT, choice=TEXT)
def test_deactivate_choices(app, practice_admin, practice_ids, everyone, choice):
    """Dr. Haddad has no Patient Talk here: any talk field is one the page never showed. A hostile
    Hand over all is refused and changes nothing; an empty one deactivates him (once)."""
    session, _ = practice_admin
    omar = practice_ids["Dr. Omar Haddad"]
    page = f"{app.base}/practice/staff/{omar}/deactivate"
    before = staff_row(app, omar)
    answer = session.post(page, data={"_csrf": token(session, page), "all": everyone, "talk-" + omar: choice},
                          allow_redirects=False, timeout=10)
    check(answer, "deactivate")
    if answer.status_code != 303:
        assert staff_row(app, omar) == before


@RUN
@given(password=TEXT, confirmation=TEXT)
def test_staff_invitation_password(app, practice_admin, password, confirmation):
    """The password form of a staff invitation's link: a weak or hostile password makes no account."""
    session, _ = practice_admin
    link = staff_invitation_link(app, session)
    before = count(app, "staff_users")
    visitor = requests.Session()
    answer = visitor.post(link, data={"_csrf": token(visitor, link), "password": password, "confirmation": confirmation},
                          allow_redirects=False, timeout=10)
    check(answer, "staff invitation password")
    if answer.status_code == 303:
        STAFF_LINK.clear()   # a password good enough used the link: the next example gets a new one
    else:
        assert count(app, "staff_users") == before


STAFF_LINK = {}


def staff_invitation_link(app, session):
    """A live invitation link for the hostile password test (a new one after one is used)."""
    if "link" not in STAFF_LINK:
        practice = app.base + "/practice"
        address = f"hostile.colleague.{count(app, 'staff_invitations')}@riverside.example"
        answer = session.post(practice + "/invitations", data={"_csrf": token(session, practice), "email": address,
                                                               "name": "Hostile Colleague", "role": "staff"},
                              allow_redirects=False, timeout=10)
        assert answer.status_code == 303, answer.status_code
        STAFF_LINK["link"] = mailbox_text(app, session, address, r'(http://127\.0\.0\.1:\d+/join/[A-Za-z0-9_-]{43})').group(1)
    return STAFF_LINK["link"]
