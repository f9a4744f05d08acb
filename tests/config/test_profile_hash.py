"""A profile's fingerprint covers what decides a measurement: its ``peak`` block (datasheet figures) is left out,
so adding or correcting a peak figure keeps every job id, while any other byte still changes it."""

import hashlib
from pathlib import Path

from suite.config import load_profile_file, without_top_level_block
from tests.conftest import REPO


def test_peak_block_is_cut_and_nothing_else() -> None:
    text = (
        b"name: x\nruntimes:\n  - name: ort\npeak:\n  # a datasheet\n  max_w: {value: 2}\n  derived: cpu\ntasks: [a]\n"
    )
    assert without_top_level_block(text, b"peak") == b"name: x\nruntimes:\n  - name: ort\ntasks: [a]\n"
    assert without_top_level_block(b"name: x\n", b"peak") == b"name: x\n"
    assert without_top_level_block(b"peaked: 1\n", b"peak") == b"peaked: 1\n"


def test_every_profile_hashes_as_its_bytes_without_the_peak_block(tmp_path: Path) -> None:
    for path in sorted((REPO / "hardware").glob("*.yaml")):
        if b"alias_of" in path.read_bytes():
            continue
        loaded = load_profile_file(path)
        assert b"\npeak:" in path.read_bytes(), f"{path.name} has no peak block"
        assert loaded.sha256 == hashlib.sha256(without_top_level_block(path.read_bytes(), b"peak")).hexdigest()
        edited = tmp_path / path.name
        edited.write_bytes(path.read_bytes().replace(b"\npeak:", b"\n# one more comment\npeak:", 1))
        assert load_profile_file(edited).sha256 != loaded.sha256, "a byte outside the peak block must count"
