"""Exclusive outputs: never an overwrite, nothing half-written, no temporary debris."""

import errno
import os

import pytest

from ceremony.errors import BadInputError
from ceremony.files import write_all_exclusive, write_exclusive


def test_a_new_file_is_written_whole_with_its_mode(tmp_path):
    path = write_exclusive(tmp_path / "x.byok", b"data", mode=0o600)
    assert path.read_bytes() == b"data"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.byok"]  # no .part left


def test_a_missing_directory_is_reported_not_made(tmp_path):
    with pytest.raises(BadInputError) as caught:
        write_exclusive(tmp_path / "gone" / "x.byok", b"data")
    assert caught.value.line() == (
        f"ceremony: error: {tmp_path / 'gone'} does not exist (removed, or its media unplugged?). "
        "Reconnect the media, or choose an existing directory")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_refused_and_kept(tmp_path):
    (tmp_path / "x").write_bytes(b"earlier")
    with pytest.raises(BadInputError) as caught:
        write_exclusive(tmp_path / "x", b"later")
    assert caught.value.line() == (
        f"ceremony: error: {tmp_path / 'x'} already exists. Choose a new output directory; "
        "the tool never overwrites a file"
    )
    assert (tmp_path / "x").read_bytes() == b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_a_dangling_symlink_counts_as_existing(tmp_path):
    (tmp_path / "x").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(BadInputError):
        write_exclusive(tmp_path / "x", b"data")
    assert not (tmp_path / "elsewhere").exists()


def test_a_set_of_files_is_all_or_nothing(tmp_path):
    (tmp_path / "blocker").write_text("a file where a directory is needed")
    with pytest.raises(BadInputError) as caught:
        write_all_exclusive({tmp_path / "first": b"1", tmp_path / "blocker" / "second": b"2"})
    assert caught.value.code == "output-not-a-directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_a_set_is_checked_before_anything_is_written(tmp_path):
    (tmp_path / "second").write_bytes(b"earlier")
    with pytest.raises(BadInputError):
        write_all_exclusive({tmp_path / "first": b"1", tmp_path / "second": b"2"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["second"]


def test_file_systems_without_hard_links_get_an_exclusive_create(tmp_path, monkeypatch):
    """A state this machine cannot reach: no FAT mount here, so os.link is made to fail."""
    def no_links(source, target):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = write_exclusive(tmp_path / "x", b"data")
    assert path.read_bytes() == b"data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]
    with pytest.raises(BadInputError):
        write_exclusive(tmp_path / "x", b"other")
    assert path.read_bytes() == b"data"
