"""Say every sentence of the integration, and the README's voice examples, to a running demo.

    .venv/bin/python -m scripts.demo.voice [--port 8123] [--simulator-port 8089]

Each sentence goes to Home Assistant's /api/conversation/process as typed into Assist. Every
form the sentence files allow (with "John Smith" / «Ивану Петрову» for a name and 101 for the
extension) must reach its intent: the answer must be one of that intent's. The README's table
of examples is then said in order and must be answered as written (times may differ; an answer
ending in "…" is the start). The examples assume a demo started with `--reset --auto-calls 0`:
this script first makes the two missed calls they speak of.
"""

import argparse
from collections.abc import Sequence
import json
import re
import sys
import time
from typing import Final

from hassil import Intents, SlotList, TextSlotList, sample_intents
from homeassistant.util.yaml import load_yaml_dict

from .hass_api import HassApi
from .processes import HOST, ROOT, say
from .provision import DEMO_PASSWORD, DEMO_USER

INTEGRATION: Final = ROOT / "custom_components" / "mango_office"
NAMES: Final = {"en": "John Smith", "ru": "Ивану Петрову"}
# What each intent may answer (its translation keys); any intent may ask which extension.
ANSWERS: Final = {
    "MangoOfficeCallback": ("speech_calling",),
    "MangoOfficeLastCaller": ("speech_last_caller", "speech_no_last_caller"),
    "MangoOfficeMissedCalls": ("speech_missed_calls", "speech_no_missed_calls"),
    "MangoOfficeCallsToReturn": ("speech_to_return", "speech_nothing_to_return"),
    "MangoOfficeReturnCall": ("speech_calling", "speech_nothing_to_return"),
}
# The README examples' missed calls: Бухгалтерия on 101, Иван Петров on 102.
MISSED: Final = (("101", "+74951112233"), ("102", "+74951234567"))
_TIME: Final = re.compile(r"\d\d:\d\d")


def ask(api: HassApi, text: str, language: str) -> str:
    """What Assist answers."""
    result = api.request(
        "POST", "/api/conversation/process", {"text": text, "language": language}
    )
    answer: str = result["response"]["speech"]["plain"]["speech"]
    return answer


def starts(language: str) -> dict[str, tuple[str, ...]]:
    """The fixed start of every answer each intent may give, in a language."""
    messages = json.loads(
        (INTEGRATION / "translations" / f"{language}.json").read_text(encoding="utf-8")
    )["exceptions"]

    def start(key: str) -> str:
        return str(messages[key]["message"]).split("{", 1)[0]

    return {
        intent: (*map(start, keys), start("speech_which_extension"))
        for intent, keys in ANSWERS.items()
    }


def check_sentences(api: HassApi) -> int:
    """Say every form of every sentence; return how many failed."""
    failed = said = 0
    for language, name in NAMES.items():
        sentences = load_yaml_dict(INTEGRATION / "sentences" / f"{language}.yaml")
        intents = Intents.from_dict(sentences)
        lists: dict[str, SlotList] = {
            "mango_contact": TextSlotList.from_strings([name]),
            "mango_extension": TextSlotList.from_strings(["101"]),
        }
        allowed = starts(language)
        for intent, text in sample_intents(
            intents, lists, exclude_sentences_with_wildcards=False
        ):
            answer = ask(api, text, language)
            said += 1
            if not answer.startswith(allowed[intent]):
                failed += 1
                say(f"FAILED {text!r} ({intent}): {answer}")
    say(f"Sentences: {said - failed} of {said} reached their intent")
    return failed


def readme_examples() -> list[tuple[str, str]]:
    """The README's voice examples: (what is said, what Assist answers)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| You say | Assist answers |", 1)[1].split("\n\n", 1)[0]
    return [
        (cells[1].strip(), cells[2].strip())
        for row in table.strip().splitlines()[1:]
        if len(cells := row.split("|")) == 4
    ]


def check_readme(api: HassApi, simulator_url: str) -> int:
    """Say the README's examples in order; return how many failed."""
    for extension, caller in MISSED:
        HassApi(simulator_url).request(
            "POST",
            "/_simulator/scenario",
            {"name": "incoming_missed", "extension": extension, "caller": caller},
            auth=False,
        )
    # The simulator rings for a few seconds before the call is missed.
    time.sleep(10)
    failed = 0
    examples = readme_examples()
    for text, expected in examples:
        language = "ru" if re.search("[\u0400-\u04ff]", text) else "en"
        answer = ask(api, text, language)
        wanted = _TIME.sub("00:00", expected)
        got = _TIME.sub("00:00", answer)
        ok = got.startswith(wanted[:-1]) if wanted.endswith("…") else got == wanted
        say(f"{'ok    ' if ok else 'FAILED'} {text!r}: {answer}")
        failed += not ok
    say(f"README examples: {len(examples) - failed} of {len(examples)} as written")
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m scripts.demo.voice`."""
    parser = argparse.ArgumentParser(prog="python -m scripts.demo.voice")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--simulator-port", type=int, default=8089)
    args = parser.parse_args(argv)
    api = HassApi(f"http://{HOST}:{args.port}")
    api.log_in(DEMO_USER, DEMO_PASSWORD)
    failed = check_readme(api, f"http://{HOST}:{args.simulator_port}")
    failed += check_sentences(api)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
