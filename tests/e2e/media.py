"""The Media panel: MANGO OFFICE → the account → an extension → today → a call, and its recording plays."""

from typing import Any, Final

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from scripts.demo.processes import say
from scripts.demo.provision import ws

from .instance import CALLER, WAIT_TIMEOUT, E2EError, Instance

ROOT: Final = "media-source://mango_office"
# Long enough to seek within, short enough to be ready soon.
RECORD_SECONDS: Final = 12
# The panel plays audio in an Audio object that never joins the page: keep each one.
KEEP_AUDIO: Final = """() => {
    if (window.__mangoAudio) return;
    const Original = window.Audio;
    window.__mangoAudio = [];
    window.Audio = function (...args) {
        const audio = new Original(...args);
        window.__mangoAudio.push(audio);
        return audio;
    };
    window.Audio.prototype = Original.prototype;
}"""
PLAYING: Final = """seconds => (window.__mangoAudio || []).some(
    audio => audio.duration > 0 && !audio.paused && !audio.error && audio.currentTime > seconds
)"""


def browse(instance: Instance, media_id: str) -> dict[str, Any]:
    """What the Media panel is shown of one item (the frontend's own websocket command)."""
    result: dict[str, Any] = ws(
        instance.api,
        {"type": "media_source/browse_media", "media_content_id": media_id},
    )[0]
    return result


def titles_to_a_recording(instance: Instance, extension: str) -> list[str]:
    """The titles to click, from the account down to the newest call that plays."""
    path: list[str] = []
    account = browse(instance, ROOT)["children"][0]
    ext = next(
        child
        for child in browse(instance, account["media_content_id"])["children"]
        if child["title"].endswith(extension)
    )
    days = browse(instance, ext["media_content_id"])["children"]
    if days:
        calls = browse(instance, days[0]["media_content_id"])["children"]
        if playable := [call for call in calls if call["can_play"]]:
            path = [
                account["title"],
                ext["title"],
                days[0]["title"],
                playable[0]["title"],
            ]
    return path


def play_a_recording(
    browser: Any, instance: Instance, extension: str, shot: str | None
) -> None:
    """A recorded call; then the panel, a click at a time, plays it, and seeks in it."""
    instance.scenario(
        "incoming_answered",
        extension=extension,
        caller=CALLER,
        talk_seconds=2,
        duration=RECORD_SECONDS,
    )
    page = browser.page
    deadline = WAIT_TIMEOUT * 1000
    waited = 0
    while not (titles := titles_to_a_recording(instance, extension)):
        if waited > deadline:
            raise E2EError(f"no recording of extension {extension} became playable")
        page.wait_for_timeout(500)
        waited += 500
    say(f"    [en] a recorded call, ready: {titles[-1]!r}")
    page.evaluate(KEEP_AUDIO)
    page.locator('ha-sidebar a[href="/media-browser"]').click()
    panel = page.locator("ha-media-player-browse")
    *folders, call = ("MANGO OFFICE", *titles)
    for title in folders:
        # Each level has its own address: wait for it, as the account is titled
        # like the source above it.
        before = page.url
        panel.get_by_text(title, exact=True).filter(visible=True).first.click()
        page.wait_for_url(lambda url, before=before: url != before)
    panel.get_by_text(call, exact=True).filter(visible=True).first.click()
    try:
        page.wait_for_function(PLAYING, arg=0.5, timeout=WAIT_TIMEOUT * 1000)
    except PlaywrightTimeoutError:
        raise E2EError(
            f"the recording does not play: {page.evaluate(_AUDIO_STATE)}"
        ) from None
    say(
        "    [en] Media → MANGO OFFICE → {} → {} → {}: it plays ({})".format(
            *titles[1:], page.evaluate(_AUDIO_STATE)
        )
    )
    if shot:
        browser.shot(shot)
    # Seeking asks the view for a range of the file.
    page.evaluate(
        "() => { const audio = window.__mangoAudio.at(-1); audio.currentTime = audio.duration - 4; }"
    )
    try:
        page.wait_for_function(PLAYING, arg=RECORD_SECONDS - 3.5, timeout=20_000)
    except PlaywrightTimeoutError:
        raise E2EError(
            f"seeking in the recording fails: {page.evaluate(_AUDIO_STATE)}"
        ) from None
    say("    [en] seeking to 4 s before its end: it plays on from there")


_AUDIO_STATE: Final = """() => (window.__mangoAudio || []).map(audio => ({
    duration: audio.duration, position: Math.round(audio.currentTime * 10) / 10,
    paused: audio.paused, error: audio.error && audio.error.code
}))"""
