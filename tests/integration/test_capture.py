"""`kindscape capture`: tcpdump inside an endpoint's namespace writing pcap, through the
real console script; `Lab.capture` as the API."""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import time

import pytest

import kindscape
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
PCAP_MAGIC = (0xA1B2C3D4, 0xA1B23C4D)  # microsecond and nanosecond pcap


def packets(data: bytes) -> list[bytes]:
    """The packets of a whole pcap file; fails on a truncated one."""
    magic, = struct.unpack("<I", data[:4])
    assert magic in PCAP_MAGIC, data[:4]
    found, at = [], 24
    while at < len(data):
        _, _, length, _ = struct.unpack("<IIII", data[at:at + 16])
        assert at + 16 + length <= len(data), "a packet cut short"
        found.append(data[at + 16:at + 16 + length])
        at += 16 + length
    return found


@pytest.fixture(scope="module")
def lab():
    with kindscape.up(kindscape.load(EXAMPLES / "multi-cluster.yaml", name="capture")) as running:
        yield running


def _pod_address(lab, pod: str) -> str:
    return next(p for p in lab.topology.pods if p.name == pod).addresses[0].__str__().split("/")[0]


def _ping_later(target: str, count: int = 5) -> subprocess.Popen:
    return subprocess.Popen(["kindscape", "exec", "capture", "cluster-b-worker/pod1", "--", "sh", "-c",
                             f"sleep 0.5; busybox ping -c {count} -i 0.2 {target}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_count_ends_it_with_a_whole_file(lab, tmp_path):
    out = tmp_path / "icmp.pcap"
    pinger = _ping_later(_pod_address(lab, "cluster-a-worker/pod1"))
    done = subprocess.run(["kindscape", "capture", "capture", "cluster-a-worker/pod1", "-w", str(out), "-c", "4",
                           "icmp"], capture_output=True, text=True, timeout=60)
    pinger.wait(timeout=30)
    assert done.returncode == 0, done.stderr
    assert f"written to {out}" in done.stderr
    seen = packets(out.read_bytes())
    assert len(seen) == 4


def test_dash_streams_pure_pcap_to_stdout(lab):
    pinger = _ping_later(_pod_address(lab, "cluster-a-worker/pod1"), count=3)
    done = subprocess.run(["kindscape", "capture", "capture", "cluster-a-worker/pod1", "-i", "eth0", "-w", "-",
                           "-c", "2", "icmp", "and", "src", _pod_address(lab, "cluster-b-worker/pod1")],
                          capture_output=True, timeout=60)
    pinger.wait(timeout=30)
    assert done.returncode == 0, done.stderr
    assert len(packets(done.stdout)) == 2  # nothing but pcap on stdout


def test_seconds_end_it_and_ctrl_c_too(lab, tmp_path):
    quiet = tmp_path / "quiet.pcap"
    started = time.monotonic()
    done = subprocess.run(["kindscape", "capture", "capture", "cluster-a-worker", "-w", str(quiet),
                           "--seconds", "1", "udp", "port", "9"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert 1 <= time.monotonic() - started < 10 and packets(quiet.read_bytes()) == []
    stopped = tmp_path / "stopped.pcap"
    proc = subprocess.Popen(["kindscape", "capture", "capture", "cluster-a-worker", "-w", str(stopped)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 20
    while not (stopped.exists() and stopped.stat().st_size >= 24):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else "slow"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C: the whole foreground group
    assert proc.wait(timeout=20) == 0, proc.stderr.read()
    proc.stderr.close()
    packets(stopped.read_bytes())  # whole


def test_a_bad_filter_or_endpoint_is_refused_before_anything_runs(lab, tmp_path):
    out = tmp_path / "never.pcap"
    bad = subprocess.run(["kindscape", "capture", "capture", "cluster-a-worker", "-w", str(out), "tcp", "port"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "bad capture filter 'tcp port'" in bad.stderr and not out.exists()
    unknown = subprocess.run(["kindscape", "capture", "capture", "no-such-node", "-w", str(out)],
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 3 and "unknown endpoint 'no-such-node'" in unknown.stderr and not out.exists()
    nowhere = subprocess.run(["kindscape", "capture", "capture", "cluster-a-worker"], capture_output=True,
                             text=True, timeout=60)
    assert nowhere.returncode == 2 and "-w FILE.pcap" in nowhere.stderr


def test_the_api_captures_too(lab, tmp_path):
    pinger = _ping_later(_pod_address(lab, "cluster-a-worker/pod1"), count=3)
    written = lab.capture("cluster-a-worker/pod1", str(tmp_path / "api.pcap"), count=2, filter="icmp")
    pinger.wait(timeout=30)
    assert len(packets(open(written, "rb").read())) == 2
