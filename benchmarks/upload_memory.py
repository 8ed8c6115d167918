"""Peak memory of `unclip serve` under many small uploads that declare huge images (issue 20, item 1).

    python benchmarks/upload_memory.py                  # the embedded default model, 32 uploads at once
    python benchmarks/upload_memory.py --uploads 64 --model DIR

Starts the server as a subprocess on a loopback port (no keys, the content policy on, one sampling step
per stage so the model work is short), waits until it is idle, then sends N edits at once whose image
and mask are 4096x4096 PNGs (within `max_upload_pixels`; about 60 KB each as files, 64 MB each
decoded), half of them variations. Prints the server's RSS when idle, its peak (VmHWM, the kernel's
high-water mark, reset after start-up through /proc/PID/clear_refs, so nothing between samples is
missed; Linux only) and the difference, and the answers' status codes. Exits 1 if the peak is more than
--limit-gb (default 2) above idle.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from PIL import Image


def png(side: int, hole: bool) -> bytes:
    image = Image.new("RGBA", (side, side), (90, 140, 200, 255))
    if hole:
        image.paste(Image.new("RGBA", (side // 4, side // 4), (0, 0, 0, 0)), (side // 3, side // 3))
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


async def send_all(url: str, image: bytes, mask: bytes, uploads: int) -> Counter[int]:
    async def one(http: httpx.AsyncClient, i: int) -> int:
        if i % 2:
            files = {"image": ("upload", image, "application/octet-stream")}
            r = await http.post(
                "/v1/images/variations", files=files, data={"size": "256x256", "response_format": "b64_json"}
            )
        else:
            files = {
                "image": ("upload", image, "application/octet-stream"),
                "mask": ("upload", mask, "application/octet-stream"),
            }
            r = await http.post(
                "/v1/images/edits",
                files=files,
                data={"prompt": "a boat", "size": "256x256", "response_format": "b64_json"},
            )
        return r.status_code

    limits = httpx.Limits(max_connections=uploads + 4)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as http:
        codes = await asyncio.gather(*(one(http, i) for i in range(uploads)))
    return Counter(codes)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="model directory (default: the embedded default model)")
    ap.add_argument("--uploads", type=int, default=32, help="uploads sent at once (default 32)")
    ap.add_argument("--side", type=int, default=4096, help="declared image side in px (default 4096)")
    ap.add_argument("--limit-gb", type=float, default=2.0, help="allowed peak above idle (default 2)")
    args = ap.parse_args()

    image, mask = png(args.side, hole=False), png(args.side, hole=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="unclip-upload-bench-")
    cmd = [
        sys.executable,
        "-m",
        "unclip.cli.main",
        "serve",
        "--port",
        str(port),
        "--steps-preset",
        "fastest",
        "--data-dir",
        data_dir,
        "--max-queue",
        str(args.uploads + 8),
        "--log-level",
        "warning",
    ]
    if args.model:
        cmd += ["--model", args.model]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                print(proc.stderr.read() if proc.stderr else "", file=sys.stderr)
                return 1
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                print("the server did not start", file=sys.stderr)
                return 1
            time.sleep(0.2)
        # one small request first, so that lazily loaded parts (content-policy models) count as idle
        asyncio.run(send_all(url, png(256, False), png(256, True), 2))
        time.sleep(1.0)
        idle = status_kb(proc.pid, "VmRSS") / 1024
        Path(f"/proc/{proc.pid}/clear_refs").write_text("5")  # reset VmHWM: model loading peaked higher
        start = time.monotonic()
        codes = asyncio.run(send_all(url, image, mask, args.uploads))
        elapsed = time.monotonic() - start
        peak = status_kb(proc.pid, "VmHWM") / 1024
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    above = peak - idle
    print(f"machine: {os.cpu_count()} cores, {cpu_name()}")
    print(
        f"uploads: {args.uploads} at once, {args.side}x{args.side} declared, files {len(image) / 1024:.0f} KB "
        f"(image) and {len(mask) / 1024:.0f} KB (mask); half edits with a mask, half variations; 256x256 out"
    )
    print(f"answers: {dict(sorted(codes.items()))} in {elapsed:.1f} s")
    print(
        f"server RSS: idle {idle:.0f} MB, peak {peak:.0f} MB, peak above idle {above:.0f} MB "
        f"(limit {args.limit_gb * 1024:.0f} MB)"
    )
    ok = above <= args.limit_gb * 1024 and set(codes) == {200}
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
