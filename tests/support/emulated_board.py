"""An emulated Raspberry Pi: a Debian 12 arm64 root filesystem run under QEMU user-mode emulation.

Raspberry Pi OS bookworm 64-bit is Debian 12 arm64, so ``debootstrap --arch=arm64`` gives the userland a
Pi user starts from, and ``qemu-user-static`` (registered with binfmt_misc) runs its binaries here. The
root filesystem is built once and cached outside the repository, under
``${EDGEQ_BOARD_CACHE:-/var/cache/edgeq-board}/<board>-<key>``, where the key hashes what decides its
content: the debootstrap release and package list, the board install commands of README.md (the fenced
block between ``<!-- board-install:start -->`` and ``<!-- board-install:end -->``, run as written) and the
run side's declared dependencies. The EdgeQ wheel itself is reinstalled (``--no-deps``) on every use, so
the cache survives code changes and still runs the code under test.

Each run of the board gets an overlayfs over the cached tree inside a private mount namespace (``unshare
-m``): nothing it writes reaches the cache, and the mounts vanish with the namespace. The host's /sys is
never bound in (onnxruntime's cpuinfo crashes reading an x86 topology under an Arm CPU); the board's
identity comes from a Raspberry Pi 5 tree given as ``EDGEQ_SYSROOT``.

Also runnable: ``python -m tests.support.emulated_board rpi5`` builds (or finds) the cached tree and
prints its path.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[2]
START_MARKER = "<!-- board-install:start -->"
END_MARKER = "<!-- board-install:end -->"
# Bumped when this module changes how a tree is built (the key must change with it).
BUILDER_VERSION = 1
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BINFMT = Path("/proc/sys/fs/binfmt_misc")


@dataclass(frozen=True)
class Board:
    """What an emulated board is: its Debian userland and the CPU QEMU emulates."""

    name: str
    debian_release: str
    debian_arch: str
    qemu_binary: str
    qemu_cpu: str
    # What a bare Raspberry Pi OS Lite image already has (python3, sudo, the CA certificates).
    base_packages: tuple[str, ...]


BOARDS = {
    "rpi5": Board(
        name="rpi5",
        debian_release="bookworm",
        debian_arch="arm64",
        qemu_binary="qemu-aarch64-static",
        qemu_cpu="cortex-a76",
        base_packages=("python3", "ca-certificates", "sudo"),
    ),
}


class BoardUnavailable(RuntimeError):
    """This machine cannot emulate the board (a tool missing, not root): the reason, in one line."""


def board_install_commands(readme: Path = REPO / "README.md") -> str:
    """The shell commands of README.md's board install block (the fenced code between the markers)."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(f"{readme}: no {START_MARKER} ... {END_MARKER} block")
    fenced = re.findall(r"```[a-z]*\n(.*?)```", text[start:end], flags=re.S)
    if len(fenced) != 1:
        raise ValueError(
            f"{readme}: expected one fenced code block between the board-install markers, found {len(fenced)}"
        )
    return fenced[0]


def run_side_dependencies(pyproject: Path = REPO / "pyproject.toml") -> dict[str, list[str]]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return {
        "dependencies": project.get("dependencies", []),
        "device": project.get("optional-dependencies", {}).get("device", []),
    }


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (a deb822 ``URIs:`` or a one-line ``deb`` entry)."""
    for source in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        with contextlib.suppress(OSError):
            for match in re.finditer(r"(?:URIs:|^deb)\s+(\S*debian/?)\s", source.read_text(), flags=re.M):
                if "security" not in match.group(1):
                    return match.group(1)
    return "http://deb.debian.org/debian"


def content_key(board: Board) -> str:
    spec = {
        "builder": BUILDER_VERSION,
        "release": board.debian_release,
        "arch": board.debian_arch,
        "base_packages": board.base_packages,
        "install": board_install_commands(),
        "run_side": run_side_dependencies(),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def cache_dir() -> Path:
    return Path(os.environ.get("EDGEQ_BOARD_CACHE", "/var/cache/edgeq-board"))


def check_host(board: Board) -> None:
    """Raise BoardUnavailable naming what is missing; mount binfmt_misc where it is empty."""
    missing = [tool for tool in (board.qemu_binary, "debootstrap", "unshare", "chroot") if not shutil.which(tool)]
    if missing:
        raise BoardUnavailable(
            f"{', '.join(missing)} not found: `make board-deps` (apt-get install qemu-user-static debootstrap binfmt-support)"
        )
    if os.geteuid() != 0:
        raise BoardUnavailable("the emulated board needs root (debootstrap, chroot, mount)")
    if not (BINFMT / "register").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=False)
    entry = BINFMT / board.qemu_binary.removesuffix("-static")
    if not entry.exists() and shutil.which("update-binfmts"):
        subprocess.run(["update-binfmts", "--enable", entry.name], check=False, capture_output=True)
    if not entry.exists() or "enabled" not in entry.read_text():
        raise BoardUnavailable(f"{entry} is not registered: `update-binfmts --enable {entry.name}` (binfmt-support)")


def board_env(board: Board, **extra: str) -> dict[str, str]:
    """The environment of a command on the board: a login's, plus QEMU's CPU and pip's CA bundle."""
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "DEBIAN_FRONTEND": "noninteractive",
        "QEMU_CPU": board.qemu_cpu,
        "PIP_CERT": str(HOST_CA_BUNDLE),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_DEFAULT_TIMEOUT": "180",
    }
    env.update(extra)
    return env


def chroot_run(
    board: Board,
    root: Path,
    script: str,
    *,
    upper: Path | None = None,
    binds: dict[Path, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    log: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a bash script as root on the board, in a private mount namespace with /proc and /dev.

    ``upper``: an overlay over ``root`` (writes land there, ``root`` is untouched). ``binds``: host
    folders bound at paths on the board (e.g. a work folder shared with the host).
    """
    mounts = []
    target = root
    if upper is not None:
        merged, work, layer = upper / "merged", upper / "work", upper / "upper"
        for folder in (merged, work, layer):
            folder.mkdir(parents=True, exist_ok=True)
        mounts.append(f"mount -t overlay overlay -o lowerdir={root},upperdir={layer},workdir={work} {merged}")
        target = merged
    mounts += [
        f"mount -t proc proc {target}/proc",
        f"mount --bind /dev {target}/dev",
        f"mount -t tmpfs tmpfs {target}/dev/shm",
        f"mount -t devpts devpts {target}/dev/pts || true",
    ]
    for host, inside in (binds or {}).items():
        mounts.append(f"mkdir -p {target}{inside} && mount --bind {host} {target}{inside}")
    inner = shlex.join(
        ["chroot", str(target), "/usr/bin/env", "-i", *[f"{k}={v}" for k, v in (env or board_env(board)).items()]]
        + ["/bin/bash", "-euo", "pipefail", "-c", "cd /root\n" + script]
    )
    outer = " && ".join(mounts) + " && " + inner
    out = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", outer],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if log is not None:
        with log.open("a") as handle:
            handle.write(f"$ {script}\n{out.stdout}\n{out.stderr}\nexit {out.returncode}\n")
    return out


def build_wheel(dest: Path) -> Path:
    """A wheel of this tree (what the README's board install names as ``edgeq-<version>-py3-none-any.whl``)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dest),
            str(REPO),
        ],
        check=True,
    )
    (wheel,) = dest.glob("edgeq-*.whl")
    return wheel


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def rootfs(board: Board, wheel: Path, log: Path | None = None) -> Path:
    """The cached board tree (built now if absent): debootstrap, then the README's board install as written."""
    check_host(board)
    key = content_key(board)
    final = cache_dir() / f"{board.name}-{key}"
    with _locked(cache_dir() / f".{board.name}-{key}.lock"):
        if (final / ".edgeq-board.json").exists():
            return final
        building = cache_dir() / f".{board.name}-{key}.building"
        shutil.rmtree(building, ignore_errors=True)
        started = time.monotonic()
        subprocess.run(
            [
                "debootstrap",
                f"--arch={board.debian_arch}",
                "--variant=minbase",
                f"--include={','.join(board.base_packages)}",
                board.debian_release,
                str(building),
                debian_mirror(),
            ],
            check=True,
            capture_output=True,
        )
        debootstrap_s = time.monotonic() - started
        shutil.copy2("/etc/resolv.conf", building / "etc/resolv.conf")
        # pip reaches the package index only with this machine's CA bundle (it may sit behind a proxy).
        shutil.copy2(HOST_CA_BUNDLE, building / str(HOST_CA_BUNDLE).lstrip("/"))
        shutil.copy2(wheel, building / "root" / wheel.name)
        started = time.monotonic()
        out = chroot_run(board, building, board_install_commands(), log=log)
        if out.returncode != 0:
            raise RuntimeError(f"the README's board install failed on the emulated {board.name}:\n{out.stderr[-4000:]}")
        install_s = time.monotonic() - started
        meta = {"key": key, "debootstrap_s": round(debootstrap_s, 1), "install_s": round(install_s, 1)}
        (building / ".edgeq-board.json").write_text(json.dumps(meta, indent=1) + "\n")
        os.replace(building, final)
        return final


def main(argv: list[str]) -> int:
    board = BOARDS[argv[0] if argv else "rpi5"]
    wheel = build_wheel(Path("/tmp") / f"edgeq-board-wheel-{os.getpid()}")
    try:
        path = rootfs(board, wheel, log=Path(os.environ.get("EDGEQ_BOARD_LOG", os.devnull)))
    except BoardUnavailable as exc:
        print(f"board: {exc}", file=sys.stderr)
        return 2
    print(path)
    print((path / ".edgeq-board.json").read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
