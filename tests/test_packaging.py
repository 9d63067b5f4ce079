"""The distribution: its metadata (an SPDX license, its file) and an sdist that carries its
tests and every file they read, built by the setuptools the build requires."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CARRIED = ("tests", "docs", "examples", "scripts", "benchmarks")
"""Folders the sdist holds whole: the tests and what they read (the deployment guide's proxy
configs, the examples, the seed's script)."""


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> tuple[tarfile.TarFile, str]:
    out = tmp_path_factory.mktemp("sdist")
    code = f"from setuptools import build_meta; print(build_meta.build_sdist({str(out)!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "deprecat" not in (done.stdout + done.stderr).lower()
    name = done.stdout.strip().splitlines()[-1]
    return tarfile.open(out / name), name.removesuffix(".tar.gz")


def test_the_sdist_holds_the_tests_and_what_they_read(sdist: tuple[tarfile.TarFile, str]) -> None:
    archive, top = sdist
    held = {member.name.removeprefix(top + "/") for member in archive.getmembers()}
    wanted = {
        str(path.relative_to(ROOT))
        for folder in CARRIED
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert wanted - held == set()
    assert {"LICENSE", "README.md", "pyproject.toml", "Makefile"} <= held
    assert not {name for name in held if name.endswith(".pyc")}


def test_the_metadata_names_the_license_by_spdx(sdist: tuple[tarfile.TarFile, str]) -> None:
    archive, top = sdist
    info = archive.extractfile(f"{top}/PKG-INFO")
    assert info is not None
    metadata = info.read().decode()
    assert "License-Expression: MIT\n" in metadata
    assert "License-File: LICENSE\n" in metadata
    # With an SPDX expression the license classifiers are not allowed (PEP 639).
    assert "Classifier: License ::" not in metadata
    assert 'Requires-Dist: tomli>=1.1; python_version < "3.11" and extra == "ws"' in metadata
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_wheel_carries_the_viewers_files(tmp_path: Path) -> None:
    # The viewer reads its page, styles and scripts from the installed package: the package
    # data in pyproject.toml must name them. Built from a clean copy, so no egg-info left by an
    # earlier build lists them instead.
    tree = tmp_path / "tree"
    shutil.copytree(
        ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, tree / name)
    code = f"from setuptools import build_meta; print(build_meta.build_wheel({str(tmp_path)!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    wheel = tmp_path / done.stdout.strip().splitlines()[-1]
    static = ROOT / "src" / "ccstream_ws" / "server" / "static"
    wanted = {str(path.relative_to(ROOT / "src")) for path in static.rglob("*") if path.is_file()}
    assert "ccstream_ws/server/static/index.html" in wanted
    with zipfile.ZipFile(wheel) as archive:
        assert wanted - set(archive.namelist()) == set()
