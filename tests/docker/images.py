"""A small local image for KIND-shaped test nodes and hosts, made without a registry:
busybox (Debian's busybox-static) plus this machine's `ip` and `iptables` (nft backend)
with their libraries, imported with `docker import` from a root filesystem built here."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

TEST_LABEL = "io.kindscape.test"
NODE_IMAGE = "kindscape-test/node:latest"
PROGRAMS = ("/usr/sbin/ip", "/usr/sbin/xtables-nft-multi")
XTABLES = Path("/usr/lib/x86_64-linux-gnu/xtables")
# The iptables extensions kindnet's and kindscape's rules use.
EXTENSIONS = ("libxt_standard.so", "libxt_comment.so", "libxt_addrtype.so", "libxt_MASQUERADE.so",
              "libipt_MASQUERADE.so", "libip6t_MASQUERADE.so")
# A node's systemd, for the stand-in's kubelet: `systemctl (re)start kubelet` makes the
# kubelet read its flags now; the stand-in reports what the running kubelet read.
SYSTEMCTL = """#!/bin/sh
echo "$*" >> /var/log/systemctl.log
case "$*" in
  "start kubelet"|"restart kubelet")
    mkdir -p /run/kubelet && cp /var/lib/kubelet/kubeadm-flags.env /run/kubelet/running-flags.env ;;
esac
"""


def _libraries(binary: str) -> set[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False).stdout
    found = set()
    for line in out.splitlines():
        parts = line.split("=>")
        path = (parts[1] if len(parts) == 2 else parts[0]).strip().split(" (")[0].strip()
        if path.startswith("/"):
            found.add(path)
    return found


def _copy(path: str, root: Path) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(os.path.realpath(path), target)


def build_rootfs(root: Path) -> None:
    for directory in ("bin", "sbin", "usr/sbin", "etc/kubernetes/manifests", "etc/containerd",
                      "var/lib/kubelet", "var/log", "run", "tmp", "proc", "sys", "dev", "lib/modules"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    _copy("/bin/busybox", root)
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet not in ("ip", "iptables", "systemctl") and not (root / "bin" / applet).exists():
            (root / "bin" / applet).symlink_to("busybox")
    libraries: set[str] = set()
    for program in PROGRAMS:
        _copy(program, root)
        libraries |= _libraries(program)
    for module in (XTABLES / name for name in EXTENSIONS):
        if not module.exists():
            continue
        _copy(str(module), root)
        libraries |= _libraries(str(module))
    for library in libraries:
        _copy(library, root)
    for name in ("iptables", "ip6tables"):
        (root / "usr/sbin" / name).symlink_to("xtables-nft-multi")
    (root / "bin/ip").symlink_to("/usr/sbin/ip")
    (root / "var/run").symlink_to("/run")  # as on Debian: `ip netns` files live in /run/netns
    systemctl = root / "bin/systemctl"
    systemctl.write_text(SYSTEMCTL)
    systemctl.chmod(0o755)


def remove_images(client) -> None:
    """Every image with the tests' label (this run's, or one an interrupted run left)."""
    for image in client.images.list(all=True, filters={"label": f"{TEST_LABEL}=1"}):
        client.images.remove(image.id, force=True)


def build_image(client) -> str:
    """Import the rootfs as NODE_IMAGE (labelled as a test image); returns its tag."""
    remove_images(client)
    with tempfile.TemporaryDirectory(prefix="ks-rootfs-") as work:
        root = Path(work) / "root"
        build_rootfs(root)
        archive = Path(work) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(root, arcname=".")
        repository, tag = NODE_IMAGE.split(":")
        client.api.import_image_from_file(str(archive), repository=repository, tag=tag,
                                          changes=[f"LABEL {TEST_LABEL}=1", "ENV PATH=/usr/sbin:/bin"])
    return NODE_IMAGE
