"""The spread of every quality bar in the test suite, over seeds and thread counts.

Runs the tests marked ``quality`` once per (thread count, seed), each run recording what
its tests measured (see ``tests/quality.py``), and tabulates per bar the lowest and
highest value beside the bar, and the margin between them. A bar belongs well below (or
above) the low (high) end of its spread: where a margin here is thin, the bar is a coin
toss on another CPU.

    python benchmarks/quality_bars.py --seeds 5 --threads 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import REPO, machine, write_results


def run_once(seed: int, threads: int, record: Path, selection: list[str]) -> float:
    env = os.environ | {
        "AUTOENCODERS_TEST_SEED": str(seed),
        "AUTOENCODERS_TEST_RECORD": str(record),
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
    }
    start = time.perf_counter()
    command = [sys.executable, "-m", "pytest", "-q", "-m", "quality", "-p", "no:cacheprovider"]
    subprocess.run([*command, *selection], cwd=REPO, env=env, check=False)
    return time.perf_counter() - start


def summarise(rows: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["test"], row["name"])].append(row)
    table = []
    for (test, name), group in sorted(groups.items()):
        values = [r["value"] for r in group]
        above, below = group[0]["above"], group[0]["below"]
        margins = []
        if above is not None:
            margins.append(min(values) - above)
        if below is not None:
            margins.append(below - max(values))
        table.append(
            {
                "test": test,
                "name": name,
                "bar": " ".join(
                    part
                    for part in (
                        f"> {above:g}" if above is not None else "",
                        f"< {below:g}" if below is not None else "",
                    )
                    if part
                ),
                "runs": len(values),
                "min": min(values),
                "mean": sum(values) / len(values),
                "max": max(values),
                "margin": min(margins),
                "failed": sum(not r["passed"] for r in group),
            }
        )
    return table


def markdown(table: list[dict], meta: dict) -> str:
    lines = [
        "# Quality bars: spread over seeds and thread counts",
        "",
        f"`{meta['command']}` on {meta['machine']['cpu']} ({meta['machine']['cores']} cores), "
        f"seeds {meta['seeds']}, OMP threads {meta['threads']}; {meta['minutes']:.0f} min.",
        "Margin: the distance from the worst run to the bar (negative: some run failed).",
        "",
        "| test | value | bar | runs | min | mean | max | margin | failed |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in table:
        lines.append(
            f"| {r['test'].removeprefix('tests/')} | {r['name']} | {r['bar']} | {r['runs']} | "
            f"{r['min']:.4g} | {r['mean']:.4g} | {r['max']:.4g} | {r['margin']:.3g} | "
            f"{r['failed']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("tests", nargs="*", help="test files or ids (default: all marked)")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        record = Path(scratch) / "record.jsonl"
        record.touch()
        for threads in args.threads:
            for seed in range(args.seeds):
                took = run_once(seed, threads, record, args.tests)
                print(f"threads={threads} seed={seed}: {took:.0f} s", flush=True)
        rows = [json.loads(line) for line in record.read_text().splitlines()]
    meta = {
        "command": "python benchmarks/quality_bars.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "seeds": list(range(args.seeds)),
        "threads": args.threads,
        "minutes": (time.perf_counter() - start) / 60,
    }
    table = summarise(rows)
    write_results("quality_bars", meta | {"bars": table, "runs": rows}, markdown(table, meta))


if __name__ == "__main__":
    main()
