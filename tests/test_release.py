"""The release's pieces: the changelog's form and the notes the release workflow takes from it."""

import json
from pathlib import Path
import re
import subprocess

REPOSITORY = Path(__file__).parent.parent
MANIFEST = REPOSITORY / "custom_components" / "mango_office" / "manifest.json"


def release_notes(version: str) -> subprocess.CompletedProcess[str]:
    """What the release workflow runs for a tag."""
    return subprocess.run(  # noqa: S603 - the repository's own script
        [REPOSITORY / "scripts" / "release-notes", version],
        capture_output=True,
        text=True,
        check=False,
    )


def test_changelog_form() -> None:
    """Keep a Changelog: Unreleased first, then versions with dates, newest first."""
    headings = re.findall(
        r"^## \[([^\]]+)\](?: - (\d{4}-\d\d-\d\d))?$",
        (REPOSITORY / "CHANGELOG.md").read_text(),
        re.MULTILINE,
    )

    assert headings[0] == ("Unreleased", "")
    releases = headings[1:]
    assert releases
    assert all(date for _version, date in releases)
    assert [date for _v, date in releases] == sorted(
        (date for _v, date in releases), reverse=True
    )


def test_the_manifest_version_has_notes() -> None:
    """The version a tag must match has a section the release can show."""
    version = json.loads(MANIFEST.read_text())["version"]

    notes = release_notes(version)

    assert notes.returncode == 0, notes.stderr
    assert notes.stdout.startswith(("The first release", "###"))
    assert "## [" not in notes.stdout


def test_no_notes_for_an_unknown_version() -> None:
    """A tag without a changelog section fails the release."""
    notes = release_notes("99.0.0")

    assert notes.returncode == 1
    assert "no notes for 99.0.0" in notes.stderr
