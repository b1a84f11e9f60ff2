"""The loop shared by the reference scripts: for each fixture case, compute the reference
results unless a marker says they are current for that fixture."""
import argparse
import hashlib
import os
import time
from typing import Callable, List, Tuple

import make_fixtures  # tests/fixtures: the scripts that use this module put it on the path


def stamp(case_dir: str, version: str, inputs: List[str]) -> str:
    """Marker content: the script's version and a hash of the fixture files the references are
    computed from, so that they are redone when the fixture is regenerated."""
    digest = hashlib.sha1()
    for name in inputs:
        with open(os.path.join(case_dir, name), "rb") as f:
            digest.update(f.read())
    return version + " " + digest.hexdigest()


def run_cases(argv, description: str, cases: List[str], marker: str, version: str,
              inputs: List[str], compute: Callable[[str, str], List[str]],
              threads: Tuple[int, int] = (2, 1)) -> int:
    """Parses `FIXTURES [--only a,b] [--force]` and runs compute(case, case_dir) per case, under
    `threads` (torch's, BLAS's: make_fixtures.set_threads)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("fixtures")
    parser.add_argument("--only")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    # The C++ tests read the fixtures from $WHITEBOX_FIXTURES when it is set: write them there too.
    fixtures = os.environ.get("WHITEBOX_FIXTURES") or args.fixtures
    make_fixtures.set_threads(*threads)
    failed = []
    for case in (args.only.split(",") if args.only else cases):
        case_dir = os.path.join(fixtures, case)
        if not os.path.exists(os.path.join(case_dir, "done")):
            print(f"[skip] {case}: no fixture", flush=True)
            continue
        marker_file = os.path.join(case_dir, marker)
        current = stamp(case_dir, version, inputs)
        if (os.path.exists(marker_file) and open(marker_file).read().strip() == current
                and not args.force):
            print(f"[skip] {case} (done)", flush=True)
            continue
        start = time.time()
        try:
            names = compute(case, case_dir)
        except Exception as err:
            failed.append(case)
            print(f"[FAIL] {case}: {type(err).__name__}: {err}", flush=True)
            continue
        with open(marker_file, "w") as f:
            f.write(current + "\n")
        print(f"[ ok ] {case} {time.time() - start:.1f} s: {' '.join(names)}", flush=True)
    return 1 if failed else 0
