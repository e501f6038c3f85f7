"""The S3-compatible attachment store (SPEC §8, `ATTACHMENT_STORE=s3://…`) against moto_server in
its signature-checking mode: an IAM user and key are made first, after which moto refuses a request
signed with the wrong secret (SignatureDoesNotMatch). boto3 reads the bucket independently.

Proved here: files round-trip through the app (a small one with a single PUT, one of 11 MB as a
multipart upload, read back in ranged pieces); the bucket holds only ciphertext (a marker that
fills the plaintext is found in no object); nothing unfinished is left behind; a server whose
secret is wrong says the files could not be saved, sends nothing and stores nothing."""
import json
import os
import re
import secrets
import subprocess
import sys
import time

import boto3
import pytest
import requests

from conftest import MAYA, CaseTalkServer, _free_port, _wait_until, requests_sign_in
from test_hostile_input import multipart, token

BUCKET = "casetalk-files"
MARKER = b"PLAINTEXT-MARKER-7f3a9c-"
FILE_LINK = re.compile(r'href="(/files/[0-9A-Fa-f-]{36})[^"]*"')


@pytest.fixture(scope="module")
def moto():
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # The first three requests go unchecked: they make the user, its policy and its key.
    # The interpreter itself, not a shim that would leave it running; SIGKILL at the end, as
    # moto's server waits on its open connections' threads after a SIGTERM.
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            env=dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until(lambda: requests.get(endpoint + "/moto-api/", timeout=2).status_code == 200, 60, "moto_server ready")
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="casetalk")
        iam.put_user_policy(UserName="casetalk", PolicyName="files", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="casetalk")["AccessKey"]
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        s3.create_bucket(Bucket=BUCKET)
        yield {"endpoint": endpoint, "id": key["AccessKeyId"], "secret": key["SecretAccessKey"], "s3": s3}
    finally:
        proc.kill()
        proc.wait(timeout=15)


def s3_server(moto, secret, name):
    return CaseTalkServer({"ATTACHMENT_STORE": f"s3://{BUCKET}?endpoint={moto['endpoint']}&region=us-east-1",
                           "S3_ACCESS_KEY_ID": moto["id"], "S3_SECRET_ACCESS_KEY": secret}, name=name)


def objects(moto):
    listed = moto["s3"].list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"]: moto["s3"].get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def doctor_on(base):
    session, _ = requests_sign_in(base, MAYA)
    cases = session.get(base + "/cases", timeout=10).text
    case_id = re.search(r'href="/cases/([0-9A-Fa-f-]{36})"[^>]*aria-label="View case of Sam Ortega"', cases).group(1)
    return session, case_id


def send(session, base, case_id, text, files):
    talk = f"{base}/cases/{case_id}/talk"
    parts = [("_csrf", None, token(session, talk).encode()), ("idempotency_key", None, secrets.token_urlsafe(32).encode()),
             ("body", None, text.encode())] + [("files", name, content) for name, content in files]
    return session.post(f"{base}/uploads/cases/{case_id}/talk", data=multipart(parts), allow_redirects=False, timeout=120,
                        headers={"Content-Type": "multipart/form-data; boundary=hostileBoundary42"})


def pdf(size):
    body = b"%PDF-1.7\n" + MARKER * (size // len(MARKER))
    return body + b"\n%%EOF\n"


def test_files_round_trip_through_the_bucket_as_ciphertext_only(moto):
    app = s3_server(moto, moto["secret"], "s3-server")
    try:
        session, case_id = doctor_on(app.base)
        small, large = pdf(40_000), pdf(11 * 1024 * 1024)
        answer = send(session, app.base, case_id, "Plans attached.", [("Small plan.pdf", small), ("Large plan.pdf", large)])
        assert answer.status_code == 303, answer.text[:500]

        page = session.get(f"{app.base}/cases/{case_id}/talk", timeout=10).text
        links = list(dict.fromkeys(FILE_LINK.findall(page)))
        assert len(links) == 2, links
        downloaded = sorted((session.get(app.base + link, timeout=60).content for link in links), key=len)
        assert downloaded == [small, large], "the files come back as they went in"

        stored = objects(moto)
        assert len(stored) == 2, f"one object a file: {sorted(stored)}"
        assert all(re.fullmatch(r"[0-9a-f]{32}", name) for name in stored), "names say nothing about the file"
        assert not any(MARKER in body or MARKER[:12] in body for body in stored.values()), "plaintext found in the bucket"
        assert sorted(len(b) for b in stored.values())[1] > len(large), "the large object is the sealed file"
        assert moto["s3"].list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == [], "no unfinished upload left"
        print(f"\nfigures: S3 store (moto, signatures checked): objects {len(stored)}, "
              f"sizes {sorted(len(b) for b in stored.values())} for plaintext {len(small)} and {len(large)}, marker found 0")
    finally:
        app.stop()


def test_a_wrong_secret_is_refused_and_nothing_is_sent_or_kept(moto):
    app = s3_server(moto, moto["secret"][:-4] + "XXXX", "s3-wrong-secret")
    try:
        session, case_id = doctor_on(app.base)
        before = objects(moto)
        text = f"Not to be sent {time.time()}"
        answer = send(session, app.base, case_id, text, [("Plan.pdf", pdf(6 * 1024 * 1024))])
        assert answer.status_code == 503, answer.status_code
        assert "Your files could not be saved just now. Nothing was sent; please try again." in answer.text
        assert objects(moto) == before, "a refused store keeps nothing"
        assert text not in session.get(f"{app.base}/cases/{case_id}/talk", timeout=10).text, "the message was not sent"
        assert "SignatureDoesNotMatch" in app.log_text(), "the server's log says why"
    finally:
        app.stop()
