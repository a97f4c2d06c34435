"""Benchmark: render, seal and verify one contract PDF N times; print mean and p95 in ms.

Usage: .venv/bin/python bench/contract_pdf.py [-n 20] [--markdown]

Runs in a throw-away instance folder (its own development seal and platform key), offline.
Prints wall-clock and CPU time (this process only) per step: on a shared machine the wall
time mostly measures the other processes, CPU time less so. The first render of a process
(the cold start: imports, fonts) is timed apart and left out of the figures. The load average
before and after is printed: compare runs made back to back under similar load.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

from pypdf import PdfReader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import TestingConfig  # noqa: E402
from marketplace import create_app  # noqa: E402
from marketplace.contracts.documents.render import render_contract_pdf  # noqa: E402
from marketplace.contracts.documents.samples import sample_contract_data  # noqa: E402
from marketplace.contracts.documents.seal import seal_pdf  # noqa: E402
from marketplace.contracts.documents.verify import verify_document  # noqa: E402


def machine() -> str:
    """nproc, RAM and CPU model of this machine, in one line."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        ram = f"{mem_kb / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        ram = "unknown RAM"
    return f"{os.cpu_count()} CPUs ({cpu}), {ram}, Python {platform.python_version()}"


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="iterations (default 20)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory() as tmp:

        class BenchConfig(TestingConfig):
            INSTANCE_PATH = tmp
            PLATFORM_KEY_PATH = str(Path(tmp) / "platform_ed25519.pem")
            SQLALCHEMY_DATABASE_URI = "sqlite://"

        app = create_app(BenchConfig)
        timings: dict[str, list[float]] = {"render": [], "seal": [], "verify": []}
        cpu: dict[str, list[float]] = {step: [] for step in timings}
        with app.app_context():
            # Warm-up: imports, the development seal certificate, font loading.
            t0 = time.perf_counter()
            warm = render_contract_pdf(sample_contract_data())
            cold_render = (time.perf_counter() - t0) * 1000
            verify_document(seal_pdf(warm.pdf, reason="warm-up", location="bench"), warm.sha256)
            cold_total = (time.perf_counter() - t0) * 1000
            sizes = (len(warm.pdf), 0)
            for i in range(args.n):
                data = sample_contract_data(contract_no=f"BENCH-{i:04d}")
                t0, c0 = time.perf_counter(), time.process_time()
                rendered = render_contract_pdf(data)
                t1, c1 = time.perf_counter(), time.process_time()
                sealed = seal_pdf(rendered.pdf, reason="双方已签署", location="浙江省杭州市西湖区")
                t2, c2 = time.perf_counter(), time.process_time()
                result = verify_document(sealed, rendered.sha256)
                t3, c3 = time.perf_counter(), time.process_time()
                if not result.ok:
                    print(f"iteration {i}: verification failed", file=sys.stderr)
                    return 1
                timings["render"].append((t1 - t0) * 1000)
                timings["seal"].append((t2 - t1) * 1000)
                timings["verify"].append((t3 - t2) * 1000)
                for step, (start, end) in zip(cpu, ((c0, c1), (c1, c2), (c2, c3)), strict=True):
                    cpu[step].append((end - start) * 1000)
                sizes = (len(rendered.pdf), len(sealed))

    load_after = os.getloadavg()[0]
    pages = f"{len(PdfReader(BytesIO(warm.pdf)).pages)}-page model contract"
    print(f"machine: {machine()}")
    print(f"load average (1 min): {load_before:.1f} before, {load_after:.1f} after")
    print(f"{args.n} iterations, {pages}, PDF {sizes[0] / 1024:.0f} KiB, sealed {sizes[1] / 1024:.0f} KiB")
    print(f"cold start (first render; first render + seal + verify): "
          f"{cold_render:.0f} ms; {cold_total:.0f} ms")
    if args.markdown:
        print("| step | mean ms | p95 ms | CPU mean ms | CPU p95 ms |\n|---|---:|---:|---:|---:|")
    for step, values in timings.items():
        mean, high = statistics.fmean(values), p95(values)
        cpu_mean, cpu_high = statistics.fmean(cpu[step]), p95(cpu[step])
        if args.markdown:
            print(f"| {step} | {mean:.0f} | {high:.0f} | {cpu_mean:.0f} | {cpu_high:.0f} |")
        else:
            print(f"{step:7s} mean {mean:7.1f} ms   p95 {high:7.1f} ms   "
                  f"CPU mean {cpu_mean:7.1f} ms   p95 {cpu_high:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
