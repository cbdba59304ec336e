"""The namespaces' /etc files (linux/netns_etc.py) on the real filesystem: one directory per
distinct set of files, every namespace's entry a hard link of one symlink, and removal of
nothing but links into the owner's store."""

import os

import pytest

from kindscape.linux import netns_etc

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="writes /etc/netns: root, in the sandbox")


def _files(prefix: str) -> list[tuple[str, str]]:
    return [(f"/etc/netns/{prefix}.a{i}/resolv.conf", "nameserver 10.96.0.10\n") for i in range(3)] + \
           [(f"/etc/netns/{prefix}.b/resolv.conf", "nameserver 10.97.0.10\n")]


def test_namespaces_with_the_same_files_share_one_directory_and_one_inode(tmp_path):
    store = str(tmp_path / "store")
    os.mkdir(store)
    netns_etc.make(_files("nse1"), store)
    links = [f"/etc/netns/nse1.a{i}" for i in range(3)] + ["/etc/netns/nse1.b"]
    try:
        for link, (path, content) in zip(links, _files("nse1")):
            with open(path) as handle:
                assert handle.read() == content
        inodes = {os.lstat(link).st_ino for link in links[:3]}
        assert len(inodes) == 1 and os.lstat(links[0]).st_nlink == 3
        assert os.lstat(links[3]).st_ino not in inodes
        assert sorted(os.listdir(store)) == ["etc-0", "etc-1"]
    finally:
        assert netns_etc.remove(links, store) == links
    assert not any(os.path.lexists(link) for link in links) and os.listdir(store) == []


def test_removal_leaves_what_does_not_point_into_the_store(tmp_path):
    store, other = str(tmp_path / "store"), str(tmp_path / "other")
    os.mkdir(store)
    os.mkdir(other)
    foreign_dir, foreign_link = "/etc/netns/nse2.mine", "/etc/netns/nse2.elsewhere"
    os.makedirs(foreign_dir)
    os.symlink(other, foreign_link)
    try:
        with pytest.raises(FileExistsError):
            netns_etc.make([(f"{foreign_dir}/resolv.conf", "x\n")], store)
        assert netns_etc.remove([foreign_dir, foreign_link], store) == []
        assert os.path.isdir(foreign_dir) and os.path.islink(foreign_link)
    finally:
        os.rmdir(foreign_dir)
        os.unlink(foreign_link)


def test_a_path_outside_a_namespaces_directory_is_refused(tmp_path):
    with pytest.raises(ValueError):
        netns_etc.make([("/etc/resolv.conf", "x\n")], str(tmp_path))
