"""Recordings' audio, made on first use: nothing is downloaded.

A few seconds of speech-like sound (syllables of a voiced tone with gliding
pitch and a couple of formants, in phrases with pauses), as telephony records
it: 8 kHz, 16-bit mono. A recording of any length repeats it. WAV, because
every browser and media player plays it and Python writes it unaided.
"""

import functools
import io
import math
import random
from typing import Final
import wave

RATE: Final = 8000
SAMPLE_WIDTH: Final = 2
CONTENT_TYPE: Final = "audio/wav"
SUFFIX: Final = ".wav"
_CLIP_SECONDS: Final = 6.0
_AMPLITUDE: Final = 16000.0


@functools.cache
def speech_like_pcm(seconds: float = _CLIP_SECONDS, seed: int = 16) -> bytes:
    """Little-endian 16-bit samples of `seconds` of speech-like sound (made once, 0.3 s)."""
    rng = random.Random(seed)
    total = int(seconds * RATE)
    samples: list[int] = []
    while len(samples) < total:
        for _ in range(rng.randint(3, 7)):  # one phrase
            samples += _syllable(rng)
            samples += [0] * int(rng.uniform(0.03, 0.12) * RATE)
        samples += [0] * int(rng.uniform(0.3, 0.7) * RATE)
    del samples[total:]
    return b"".join(
        sample.to_bytes(SAMPLE_WIDTH, "little", signed=True) for sample in samples
    )


def _syllable(rng: random.Random) -> list[int]:
    length = int(rng.uniform(0.12, 0.28) * RATE)
    pitch = rng.uniform(110.0, 210.0)
    glide = rng.uniform(-0.25, 0.2)  # the pitch moves within a syllable
    formants = (rng.uniform(300.0, 800.0), rng.uniform(900.0, 2200.0))
    phase = 0.0
    out = []
    for n in range(length):
        t = n / length
        phase += 2 * math.pi * pitch * (1 + glide * t) / RATE
        # Harmonics near a formant are louder: a vowel-like colour.
        value = sum(
            math.sin(k * phase)
            / k
            * (1 + sum(2.0 for f in formants if abs(k * pitch - f) < 150))
            for k in range(1, 12)
        )
        envelope = min(1.0, t * 8) * min(1.0, (1 - t) * 5)
        out.append(int(_AMPLITUDE * envelope * value / 6))
    return out


def wav(pcm: bytes, seconds: int) -> bytes:
    """A WAV file of `seconds` (at least one) made of `pcm` repeated."""
    size = max(1, seconds) * RATE * SAMPLE_WIDTH
    body = (pcm * (size // len(pcm) + 1))[:size]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(RATE)
        out.writeframes(body)
    return buffer.getvalue()
