"""Entry points read from the metadata files agree with importlib.metadata, case by case."""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from peftctl import entry_points as fast
from peftctl.entry_points import EntryPoint, entry_points

GROUP = "peftctl"


def make_dist(
    site: Path,
    folder: str,
    eps: str | None,
    name: str = "",
    version: str = "",
    metadata_file: str = "METADATA",
) -> Path:
    """A ``*.dist-info``/``*.egg-info`` folder in ``site`` with ``entry_points.txt`` = ``eps``;
    name and version default to those in the folder's name."""
    info = site / folder
    info.mkdir(parents=True)
    folder_name, _, folder_version = folder.rpartition(".")[0].partition("-")
    name = name or folder_name.replace("_", "-")
    version = version or folder_version or "1.0"
    (info / metadata_file).write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if eps is not None:
        (info / "entry_points.txt").write_text(eps)
    return info


def importlib_eps(group: str) -> list[EntryPoint]:
    return fast._from_importlib(group)


def test_agrees_with_importlib_for_every_group_installed_here():
    groups = {ep.group for d in importlib.metadata.distributions() for ep in d.entry_points}
    assert GROUP in groups
    for group in sorted(groups):
        assert fast._read_all(group) == importlib_eps(group), group


def test_first_distribution_of_a_name_shadows_later_ones(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    make_dist(first, "peftctl_dup-1.0.dist-info", None)  # no entry points: still shadows
    make_dist(second, "Peftctl.Dup-2.0.dist-info", "[peftctl]\ndup = dup_mod\n")
    make_dist(second, "peftctl_other-2.0.dist-info", "[peftctl]\nother = other_mod:hook\n")
    monkeypatch.setattr(sys, "path", [str(first), str(second)])
    assert entry_points(GROUP) == importlib_eps(GROUP)
    assert [ep.name for ep in entry_points(GROUP)] == ["other"]


def test_reads_sections_as_importlib_does(tmp_path, monkeypatch):
    text = (
        "# a comment\n[console_scripts]\nfoo = foo:main\n\n"
        "[peftctl]\n  a=mod_a\n; not a comment in this format = x\n"
        "b = mod_b:obj.attr [extra]\n#c = mod_c\n[other]\nd = mod_d\n"
    )
    info = make_dist(tmp_path / "site", "peftctl_sections-0.3.dist-info", text)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: Peftctl_Sections\nSummary: two\n  lines\nVersion: 0.3\n"
        "Name: not-the-first\n\nName: in-the-description\n"
    )
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site")])
    found = entry_points(GROUP)
    assert found == importlib_eps(GROUP)
    assert [(ep.name, ep.dist, ep.version) for ep in found][:2] == [
        ("a", "Peftctl_Sections", "0.3"),
        ("; not a comment in this format", "Peftctl_Sections", "0.3"),
    ]


def test_egg_info_folders_and_pkg_info(tmp_path, monkeypatch):
    site = tmp_path / "site"
    eps = "[peftctl]\negg = egg_mod\n"
    make_dist(site, "peftctl_egg.egg-info", eps, "peftctl-egg", metadata_file="PKG-INFO")
    monkeypatch.setattr(sys, "path", [str(site)])
    assert (
        entry_points(GROUP)
        == importlib_eps(GROUP)
        == [EntryPoint("egg", "egg_mod", "peftctl-egg", "1.0")]
    )


@pytest.mark.parametrize("case", ["zip", "upper-case suffix", "import hook"])
def test_cases_beyond_the_fast_rules_are_left_to_importlib(case, tmp_path, monkeypatch):
    site = tmp_path / "site"
    make_dist(site, "peftctl_z-1.0.dist-info", "[peftctl]\nz = z_mod\n")
    path = [str(site)]
    if case == "zip":
        archive = tmp_path / "dists.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("peftctl_zipped-1.0.dist-info/METADATA", "Name: peftctl-zipped\n")
            zf.writestr("peftctl_zipped-1.0.dist-info/entry_points.txt", "[peftctl]\nq = q\n")
        path.insert(0, str(archive))
    elif case == "upper-case suffix":
        make_dist(site, "peftctl_up-1.0.DIST-INFO", "[peftctl]\nup = up_mod\n")
    else:
        monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, _FindsDistributions()])
    monkeypatch.setattr(sys, "path", path)
    with pytest.raises(fast._NeedsImportlib):
        fast._read_all(GROUP)
    assert entry_points(GROUP) == importlib_eps(GROUP)
    assert len(entry_points(GROUP)) == (1 if case == "import hook" else 2)


class _FindsDistributions:
    def find_spec(self, *args: object) -> None:
        return None

    def find_distributions(self, *args: object) -> list[object]:
        return []


def test_install_and_uninstall_show_at_the_next_call(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [str(site)])
    assert entry_points(GROUP) == []
    info = make_dist(site, "peftctl_new-0.1.dist-info", "[peftctl]\nnew = new_mod\n")
    assert entry_points(GROUP) == [EntryPoint("new", "new_mod", "peftctl-new", "0.1")]
    shutil.rmtree(info)
    assert entry_points(GROUP) == []
    make_dist(site, "peftctl_new-0.2.dist-info", "[peftctl]\nnewer = new_mod\n")
    assert entry_points(GROUP) == [EntryPoint("newer", "new_mod", "peftctl-new", "0.2")]


def test_load_imports_the_module_and_follows_attributes(tmp_path, monkeypatch):
    (tmp_path / "ep_target.py").write_text("class Outer:\n    class Inner:\n        x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ep_target", raising=False)
    module = EntryPoint("m", "ep_target", "d", "1").load()
    assert EntryPoint("a", "ep_target:Outer.Inner [extra]", "d", "1").load() is module.Outer.Inner
    with pytest.raises(ValueError, match="malformed entry point"):
        EntryPoint("bad", "not a/value", "d", "1").load()
