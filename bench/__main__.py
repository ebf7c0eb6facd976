"""Run every ``bench/bench_*.py`` module's ``main(quick)`` and write the report.

    python -m bench [--quick] [--only NAME ...]

One benchmark failing is reported and the others still run. A full run (no ``--only``)
writes ``docs/BENCHMARKS.md`` through ``bench.report`` when it is present; the results are
always printed as JSON (a partial run never overwrites the full report).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    return sorted(p.stem for p in HERE.glob("bench_*.py"))


def run(names: list[str], quick: bool) -> tuple[dict, dict]:
    results, errors = {}, {}
    for name in names:
        short = name.removeprefix("bench_")
        print(f"== {name} ({'quick' if quick else 'full'})", flush=True)
        started = time.perf_counter()
        try:
            result = importlib.import_module(f"bench.{name}").main(quick)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            errors[short] = f"{type(exc).__name__}: {exc}"
            continue
        results[result.get("name", short) if isinstance(result, dict) else short] = result
        print(f"   done in {time.perf_counter() - started:.1f} s", flush=True)
    return results, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Earmark benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, not hours)")
    parser.add_argument("--only", nargs="*", default=None, help="benchmark names, e.g. live inference")
    parser.add_argument("--no-report", action="store_true", help="print the results; do not write docs/")
    args = parser.parse_args(argv)
    names = discover()
    if args.only:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.only}
        unknown = wanted - set(names)
        if unknown:
            parser.error(f"unknown benchmark(s) {sorted(unknown)}; found {names}")
        names = [n for n in names if n in wanted]
    started_utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    started = time.perf_counter()
    results, errors = run(names, args.quick)
    elapsed_s = time.perf_counter() - started
    if not args.no_report and not args.only:
        try:
            from bench.report import write_report
        except ImportError:
            write_report = None
        if write_report is not None:
            command = "python -m bench" + (" --quick" if args.quick else "")
            path = write_report(results, quick=args.quick, command=command, started_utc=started_utc,
                                elapsed_s=elapsed_s, errors=errors)
            print(f"wrote {path}")
    print(json.dumps({"results": results, "errors": errors}, indent=1, default=str))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
