"""Attachments under load (issue 19, Measure): upload and download throughput of one large file on
loopback (MB/s, server CPU seconds per MB), and the server's memory while it takes a 100 MB
upload and ten 20 MB uploads at once (RSS sampled every 20 ms, growth over the idle server); and
the time until a 12-megapixel phone photo (4000×3000 JPEG with EXIF, GPS included) is ready to be
shown: sent, cleaned of its metadata, sealed and stored (p50 and p95 of 20, one at a time), with
the image tool (vipsthumbnail on the PATH: rewritten, thumbnail and view) and on a second server
without it.
    CASETALK_BIN=.build/release/casetalk python3 bench/uploads.py [--out bench/results/NAME.md]
A development server on loopback with the demo practice (Dr. Maya Chen's Patient Talk with Sam
Ortega), its own folder, stopped when this ends. Figures are this machine's, in one run."""
import argparse
import os
import pathlib
import re
import shutil
import sys
import threading
import time

import requests

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))
from conftest import CSRF, MAYA, CaseTalkServer, requests_sign_in  # noqa: E402

MB = 1_000_000
BOUNDARY = "----CaseTalkBenchBoundary"


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Peak:
    """The largest RSS seen while the block runs."""
    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def __enter__(self):
        def watch():
            while not self.stop.is_set():
                self.peak = max(self.peak, rss_kb(self.pid))
                time.sleep(0.02)
        self.thread = threading.Thread(target=watch, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        self.thread.join()


def form(csrf, size, name):
    """A message form with one PDF of `size` bytes, made as it is sent (never held whole)."""
    filler = os.urandom(MB)
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nBench file\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode() + b"%PDF-1.7\n"
    yield head
    left = size - len(b"%PDF-1.7\n")
    while left > 0:
        piece = filler[:min(left, MB)]
        left -= len(piece)
        yield piece
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def phone_photo():
    """A 12 MP JPEG like a phone's: a smooth scene with some grain, EXIF with a GPS position."""
    import io
    import numpy
    from PIL import Image
    y, x = numpy.mgrid[0:3000, 0:4000]
    rng = numpy.random.default_rng(12)
    pixels = numpy.stack([(x / 16) % 256, (y / 12) % 256, ((x + y) / 28) % 256], axis=-1) + rng.normal(0, 6, (3000, 4000, 3))
    image = Image.fromarray(numpy.clip(pixels, 0, 255).astype("uint8"), "RGB")
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "PhoneMaker", "Model 12", 6
    exif[0x8825] = {1: "N", 2: (41.0, 52.0, 30.0), 3: "W", 4: (87.0, 37.0, 40.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, exif=exif)
    return out.getvalue()


def photo_form(csrf, photo, name):
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nPhoto\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode() + photo + f"\r\n--{BOUNDARY}--\r\n".encode()


def upload(session, base, case_id, csrf, size, name):
    answer = session.post(f"{base}/uploads/cases/{case_id}/talk", data=form(csrf, size, name), allow_redirects=False, timeout=600,
                          headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert answer.status_code == 303, (answer.status_code, answer.text[:300])


def sign_in_to_talk(base):
    """Dr. Chen signed in: her session, Sam Ortega's case and the Patient Talk form's token."""
    session, _ = requests_sign_in(base, MAYA)
    cases = session.get(base + "/cases", timeout=10).text
    case_id = re.search(r'href="/cases/([0-9A-Fa-f-]{36})"[^>]*aria-label="View case of Sam Ortega"', cases).group(1)
    talk = session.get(f"{base}/cases/{case_id}/talk", timeout=10).text
    return session, case_id, CSRF.search(talk).group(1)


def photo_ready(session, base, case_id, csrf, photo, tool):
    """p50 and p95 of 20 sends of the photo, one at a time, until each is ready to be shown
    (without a virus check, the answer to the send: the image tool runs within it)."""
    ready = []
    for n in range(20):
        started = time.monotonic()
        answer = session.post(f"{base}/uploads/cases/{case_id}/talk", data=photo_form(csrf, photo, f"IMG_{n:04}.jpg"),
                              allow_redirects=False, timeout=120, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        ready.append(time.monotonic() - started)
        assert answer.status_code == 303, (answer.status_code, answer.text[:300])
    ready.sort()
    talk = session.get(f"{base}/cases/{case_id}/talk", timeout=10).text
    assert ("?size=thumbnail" in talk) == tool, "the image tool made thumbnails" if tool else "no image tool here"
    return ready[len(ready) // 2], ready[int(len(ready) * 0.95) - 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None)
    parser.add_argument("--large-mb", type=int, default=100)
    args = parser.parse_args()
    server = CaseTalkServer({"ATTACHMENT_MAX_STAFF_MB": "500", "CASETALK_RATE_LIMITS": "off", "LOG_LEVEL": "notice"}, name="bench-uploads")
    try:
        base, pid = server.base, server.proc.pid
        session, case_id, csrf = sign_in_to_talk(base)
        # Warm up (the first upload makes the folders and the connections).
        upload(session, base, case_id, csrf, MB, "warm.pdf")
        idle = rss_kb(pid)

        large = args.large_mb * MB
        cpu, started = cpu_seconds(pid), time.monotonic()
        with Peak(pid) as one:
            upload(session, base, case_id, csrf, large, "large.pdf")
        up_seconds, up_cpu = time.monotonic() - started, cpu_seconds(pid) - cpu

        talk = session.get(f"{base}/cases/{case_id}/talk", timeout=10).text
        file_id = re.findall(r"/files/([0-9A-Fa-f-]{36})", talk)[-1]
        cpu, started, received = cpu_seconds(pid), time.monotonic(), 0
        with session.get(f"{base}/files/{file_id}?download=1", stream=True, timeout=600) as answer:
            assert answer.status_code == 200
            for piece in answer.iter_content(1 << 20):
                received += len(piece)
        down_seconds, down_cpu = time.monotonic() - started, cpu_seconds(pid) - cpu
        assert received == large, received

        idle_before_ten = rss_kb(pid)
        errors = []
        def one_of_ten(n):
            try:
                upload(session, base, case_id, csrf, 20 * MB, f"ten-{n}.pdf")
            except Exception as error:   # reported below
                errors.append(repr(error))
        started = time.monotonic()
        with Peak(pid) as ten:
            threads = [threading.Thread(target=one_of_ten, args=(n,)) for n in range(10)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        ten_seconds = time.monotonic() - started
        assert not errors, errors

        photo = phone_photo()
        with_tool = photo_ready(session, base, case_id, csrf, photo, tool=True) if shutil.which("vipsthumbnail") else None
        lines = [
            f"# Attachments on loopback ({time.strftime('%Y-%m-%d %H:%M')}, `{server.binary.name}` "
            f"{'release' if 'release' in str(server.binary) else 'debug'}, SQLite, folder store)", "",
            "| | figure | target |", "|---|---|---|",
            f"| upload of {args.large_mb} MB | {large / MB / up_seconds:.0f} MB/s, server CPU {up_cpu / (large / MB) * 1000:.1f} ms per MB | ≥ 100 MB/s |",
            f"| download of it | {large / MB / down_seconds:.0f} MB/s, server CPU {down_cpu / (large / MB) * 1000:.1f} ms per MB | ≥ 100 MB/s |",
            f"| RSS growth during the {args.large_mb} MB upload | {(one.peak - idle) / 1000:.1f} MB (idle {idle / 1000:.0f} MB) | < 64 MB |",
            f"| RSS growth during ten 20 MB uploads at once | {(ten.peak - idle_before_ten) / 1000:.1f} MB in {ten_seconds:.1f} s (peak {ten.peak / 1000:.0f} MB) | < 150 MB in all |",
        ]
    finally:
        server.stop()
    # The same photo on a server whose PATH has no image tool: cleaned in Swift only.
    bare = CaseTalkServer({"CASETALK_RATE_LIMITS": "off", "LOG_LEVEL": "notice", "PATH": "/nonexistent"}, name="bench-uploads-no-tool")
    try:
        session, case_id, csrf = sign_in_to_talk(bare.base)
        without_tool = photo_ready(session, bare.base, case_id, csrf, photo, tool=False)
    finally:
        bare.stop()
    for label, figures in (("with vips", with_tool), ("without vips", without_tool)):
        shown = f"p50 {figures[0] * 1000:.0f} ms, p95 {figures[1] * 1000:.0f} ms (of 20)" if figures else "vipsthumbnail is not on the PATH"
        lines.append(f"| a 12 MP photo ({len(photo) / MB:.1f} MB) ready, {label} | {shown} | "
                     f"{'≤ 1.5 s p95' if label == 'with vips' else '—'} |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        pathlib.Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
