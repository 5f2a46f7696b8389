"""Load-test `autoencoders serve` on loopback, then fuzz it with schemathesis.

Trains the classic MNIST 784-32-784 model (2 epochs: the model's quality is beside the
point), starts `autoencoders serve` in its own process on 127.0.0.1 and drives it from
this one with a few concurrent keep-alive clients, one workload at a time, each bounded
by a request count and a time limit. Records requests per second, p50 and p99 latency
and the errors (any answer but 200), then runs schemathesis against the served OpenAPI
schema: once with only its server-error check (must pass: no 5xx), once with all its
checks (the findings are recorded; full logs in benchmarks/.cache/serve_load/). Writes
benchmarks/results/serve_load.{json,md}::

    AUTOENCODERS_DATA=../shared/datasets python benchmarks/serve_load.py

Client and server share the machine's cores, so the figures are a floor for what the
server does on its own.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from _common import REPO, data_dir, machine, write_results
from PIL import Image

from autoencoders import AutoEncoder
from autoencoders.data import load_dataset
from autoencoders.runs import train_run
from autoencoders.serving.background import serve_in_background

CACHE = REPO / "benchmarks" / ".cache" / "serve_load"


def train(data: str, folder: Path) -> Path:
    train_set = load_dataset(data, "train", data_dir=folder)
    test_set = load_dataset(data, "test", data_dir=folder)
    model = AutoEncoder("dense", latent_dim=32, epochs=2, batch_size=256, random_state=0)
    return train_run(model, train_set, CACHE / "run", test=test_set, overwrite=True).path


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def workloads(images: np.ndarray, codes: list) -> dict[str, dict]:
    """Name → the keyword arguments of one request (images: uint8, (n, 1, 28, 28))."""
    one, sixteen = images[:1].tolist(), images[:16].tolist()
    raw_png = {"content": png(images[0, 0]), "headers": {"content-type": "image/png"}}
    return {
        "POST /reconstruct, 1 image as JSON": {"url": "/reconstruct", "json": {"inputs": one}},
        "POST /score, 16 images as JSON": {"url": "/score", "json": {"inputs": sixteen}},
        "POST /encode, 1 PNG": {"url": "/encode", **raw_png},
        "POST /reconstruct?format=png, 1 PNG": {"url": "/reconstruct?format=png", **raw_png},
        "POST /decode?format=png, 1 code": {"url": "/decode?format=png", "json": {"codes": codes}},
        "GET /health": {"url": "/health", "method": "GET"},
    }


def drive(url: str, request: dict, *, requests: int, clients: int, max_seconds: float) -> dict:
    """``requests`` requests from ``clients`` threads, stopping early after ``max_seconds``."""
    method = request.get("method", "POST")
    body = {k: v for k, v in request.items() if k not in ("url", "method")}
    deadline = time.monotonic() + max_seconds
    per_client = requests // clients

    def client(_: int) -> tuple[list[float], int]:
        latencies, errors = [], 0
        with httpx.Client(base_url=url, timeout=30) as http:
            for _ in range(per_client):
                if time.monotonic() > deadline:
                    break
                started = time.perf_counter()
                try:
                    ok = http.request(method, request["url"], **body).status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok
        return latencies, errors

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - started
    latencies = np.concatenate([np.array(lat) for lat, _ in results]) * 1000
    return {
        "requests": len(latencies),
        "errors": sum(errors for _, errors in results),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
    }


def schemathesis(url: str, checks: str, examples: int, max_seconds: int) -> dict:
    """One schemathesis run; its exit code and the failure lines of its summary."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", f"{url}/openapi.json",
        "--checks", checks, "--max-examples", str(examples), "--max-time", str(max_seconds),
        "--workers", "1", "--no-color", "--suppress-health-check", "all",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=max_seconds + 120, cwd=CACHE
    )
    (CACHE / f"schemathesis-{checks}.log").write_text(done.stdout + done.stderr)
    summary = done.stdout[done.stdout.rfind("SUMMARY") :]
    failures = re.findall(r"❌ (.+?): (\d+)", summary.split("Failures:")[-1])
    cases = re.search(r"(\d+) generated", summary)
    # What the server said to the requests schemathesis flagged (e.g. an image of a size
    # the schema cannot express), so that each finding can be judged.
    answers = sorted(set(re.findall(r'`\{"detail":"(.+?)"\}`', done.stdout)))
    return {
        "checks": checks,
        "exit_code": done.returncode,
        "test_cases": int(cases.group(1)) if cases else None,
        "failures": {name: int(count) for name, count in failures},
        "answers_to_failing_cases": answers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--data-dir")
    parser.add_argument("--requests", type=int, default=1000, help="per workload")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=30, help="per workload")
    parser.add_argument("--examples", type=int, default=100, help="schemathesis, per operation")
    args = parser.parse_args()

    load = round(os.getloadavg()[0], 2)  # other jobs on the machine slow both sides down
    folder = data_dir(args.data_dir)
    run = train(args.data, folder)
    env = os.environ | {"AUTOENCODERS_DATA": str(folder)}
    with serve_in_background(run, env=env, timeout=300) as url:
        images = load_dataset(args.data, "test", data_dir=folder, limit=16).X
        codes = AutoEncoder.load(run).transform(images[:1]).tolist()
        measured = {
            name: drive(
                url,
                request,
                requests=args.requests,
                clients=args.clients,
                max_seconds=args.max_seconds,
            )
            for name, request in workloads(images, codes).items()
        }
        fuzzing = [
            schemathesis(url, "not_a_server_error", args.examples, 300),
            schemathesis(url, "all", args.examples, 300),
        ]

    payload = {
        "machine": machine() | {"load_average_at_start": load},
        "model": "dense 784-32-784 (MNIST, 2 epochs)",
        "clients": args.clients,
        "workloads": measured,
        "schemathesis": fuzzing,
    }
    lines = [
        "# `autoencoders serve` under load",
        "",
        f"{args.clients} concurrent keep-alive clients in another process on loopback, "
        f"{args.requests} requests per workload (or {args.max_seconds:g} s), "
        f"the MNIST 784-32-784 model; {payload['machine']['cpu']}, "
        f"{payload['machine']['cores']} cores shared by client and server (load average "
        f"{load} from other jobs when it started). Reproduce: "
        "`AUTOENCODERS_DATA=../shared/datasets python benchmarks/serve_load.py`.",
        "",
        "| workload | requests | errors | requests/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {m['requests']} | {m['errors']} | {m['requests_per_second']} | "
        f"{m['p50_ms']} | {m['p99_ms']} |"
        for name, m in measured.items()
    ]
    lines += ["", "## schemathesis against /openapi.json", ""]
    lines += ["| checks | test cases | exit code | failures |", "|---|---:|---:|---|"]
    for result in fuzzing:
        found = ", ".join(f"{k}: {v}" for k, v in result["failures"].items()) or "none"
        lines.append(
            f"| {result['checks']} | {result['test_cases']} | {result['exit_code']} | {found} |"
        )
    answers = sorted({a for result in fuzzing for a in result["answers_to_failing_cases"]})
    if answers:
        lines += ["", "The server's answers to the flagged requests:", ""]
        lines += [f"* `{answer}`" for answer in answers]
    if any("pixels; this model takes" in answer for answer in answers):
        lines += [
            "",
            "OpenAPI cannot say how many pixels an uploaded image must have, so schemathesis "
            "sends PNGs of any size; the server refuses those that do not match the model, "
            "by design.",
        ]
    write_results("serve_load", payload, "\n".join(lines) + "\n")
    errors = sum(m["errors"] for m in measured.values())
    if errors or fuzzing[0]["exit_code"] != 0:
        sys.exit(f"{errors} failed requests; schemathesis (no 5xx) exit {fuzzing[0]['exit_code']}")


if __name__ == "__main__":
    main()
