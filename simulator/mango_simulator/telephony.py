"""The simulated PBX: call legs and the scenarios that push their events.

A leg is one party's view of a call (its own call_id); the legs of one call share
an entry_id. Every push goes through `_deliver`, which the server implements
(live to the registered websocket, else into the missed store).
"""

from abc import ABC, abstractmethod
import asyncio
import base64
from collections.abc import Awaitable, Callable, Coroutine, Iterable
import contextlib
from dataclasses import dataclass, field
import inspect
import logging
import random
import time
from typing import Any, Final
import uuid

from .wire import (
    APPEARED,
    CODE_CALL_NOT_FOUND,
    CODE_INVALID_PARAMETERS,
    CONNECTED,
    DIRECTION_IN,
    DIRECTION_INTERNAL,
    DIRECTION_OUT,
    DISCONNECTED,
    MIN_RECORDED_SECONDS,
    ONHOLD,
    REASON_BUSY,
    REASON_ENDED_BY_CALLER,
    REASON_NO_ANSWER,
    REASON_NORMAL,
    RECORD_AVAILABLE,
    RECORD_PROCESSING,
    ROUTE_CALL,
    ROUTE_FAILED,
    ROUTE_FAILED_MESSAGE,
    ROUTE_IVR,
    ROUTE_OK,
    ROUTE_RECORD,
    ROUTE_ROUTE_RESULT,
    TRANSFER_BLIND,
    TRANSFER_HOLD,
    ApiError,
    party,
    push_message,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_CALLER: Final = "+74951234567"
DEFAULT_LINE: Final = "+74957654321"
DEFAULT_DESTINATION: Final = "+74959876543"

# Old ended legs are forgotten past this many, so a long demo stays small.
_MAX_LEGS: Final = 10_000

# What the control interface may start (scenario methods of the simulator).
SCENARIOS: Final = (
    "incoming_answered",
    "incoming_missed",
    "group_answered_elsewhere",
    "outgoing_callback",
    "incoming_via_ivr",
    "hold_and_resume",
    "internal_call",
    "transfer",
    "hang_up",
)

type Ids = dict[str, str]
type _Scenario = Callable[[], Coroutine[Any, Any, Ids]]


@dataclass(eq=False)
class Leg:
    """One party's leg of a call, as its owner's /call pushes describe it."""

    call_id: str
    entry_id: str
    owner: str | None  # the extension that gets this leg's pushes
    direction: str
    caller: dict[str, str]
    callee: dict[str, str]
    line_number: str | None
    ivr: bool = False  # an incoming call waiting in the IVR for a route request
    state: str | None = None
    seq: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def active(self) -> bool:
        """Whether the owner is talking on this leg (or holding it)."""
        return self.state in {CONNECTED, ONHOLD}


class Telephony(ABC):
    """Call legs and scenarios; the server side plugs in through the abstract hooks."""

    def __init__(
        self,
        *,
        extensions: Iterable[str],
        step_delay: float,
        record_delay: float,
        clock: Callable[[], float],
        seed: int | None,
    ) -> None:
        """Set up an idle PBX with the given extensions."""
        self._extensions = {str(extension) for extension in extensions}
        self.step_delay = step_delay
        self.record_delay = record_delay
        self._clock = clock
        self._random = random.Random(seed)
        self._legs: dict[str, Leg] = {}
        # record_id -> the recording's seconds, once AVAILABLE (until deleted).
        self._records: dict[str, int] = {}
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._auto_task: asyncio.Task[None] | None = None

    # -- hooks for the server ------------------------------------------------

    @abstractmethod
    async def _deliver(self, extension: str, message: dict[str, Any]) -> str:
        """Send one push to a user; return "live", "missed" or "dropped"."""

    @abstractmethod
    def _ivr_recipient(self) -> str | None:
        """Pick the user who gets an /ivr push."""

    @abstractmethod
    def _record_file_url(self, record_id: str) -> str:
        """Where a recording can be downloaded."""

    @property
    @abstractmethod
    def users(self) -> set[str]:
        """The provisioned extensions."""

    # -- PBX state -----------------------------------------------------------

    @property
    def extensions(self) -> set[str]:
        """The PBX's extensions (provisioned or not)."""
        return set(self._extensions)

    def add_extension(self, extension: str) -> None:
        """Add an extension to the PBX."""
        self._extensions.add(str(extension))

    def active_calls(self, extension: str | None = None) -> list[str]:
        """Call ids of the legs being talked on (or held), optionally one user's."""
        return [
            leg.call_id
            for leg in self._legs.values()
            if leg.active and (extension is None or leg.owner == extension)
        ]

    def _now(self) -> int:
        return int(self._clock())

    def _new_id(self) -> str:
        # Opaque url-safe ids, like the vendor's base64 call ids.
        return base64.urlsafe_b64encode(self._random.randbytes(12)).decode()

    def _new_leg(
        self,
        owner: str | None,
        direction: str,
        *,
        caller: dict[str, str],
        callee: dict[str, str],
        line: str | None,
        entry_id: str | None = None,
        call_id: str | None = None,
        ivr: bool = False,
    ) -> Leg:
        leg = Leg(
            call_id=call_id or self._new_id(),
            entry_id=entry_id or self._new_id(),
            owner=owner,
            direction=direction,
            caller=caller,
            callee=callee,
            line_number=line,
            ivr=ivr,
        )
        self._legs[leg.call_id] = leg
        if len(self._legs) > _MAX_LEGS:
            for old in [item for item in self._legs.values() if item.ended.is_set()][
                : len(self._legs) - _MAX_LEGS
            ]:
                del self._legs[old.call_id]
        return leg

    def _incoming_leg(
        self, extension: str, caller: str, line: str, entry_id: str | None = None
    ) -> Leg:
        """A leg of an outside caller's call ringing at `extension`."""
        return self._new_leg(
            extension,
            DIRECTION_IN,
            caller=party(number=caller),
            callee=party(extension=extension),
            line=line,
            entry_id=entry_id,
        )

    @staticmethod
    def _remote(leg: Leg) -> dict[str, str]:
        """The other party of a leg, as seen by its owner."""
        if leg.ivr or leg.callee.get("extension") == leg.owner:
            return dict(leg.caller)
        return dict(leg.callee)

    def _default_talk(self) -> float:
        """How long calls started through the API last."""
        return self.step_delay * 3

    def _random_number(self) -> str:
        return f"+7495{self._random.randrange(10**7):07d}"

    # -- pushing -------------------------------------------------------------

    async def _push(
        self, owner: str | None, route_key: str, data: dict[str, Any]
    ) -> None:
        if owner is None or self._stopping.is_set():
            return
        await self._deliver(owner, push_message(route_key, data))

    async def _emit(
        self, leg: Leg, state: str, *, reason: int = REASON_NORMAL, group: bool = False
    ) -> None:
        """Move a leg to a state and push the /call event; nothing follows DISCONNECTED."""
        if leg.state == DISCONNECTED or self._stopping.is_set():
            return
        leg.seq += 1
        leg.state = state
        data: dict[str, Any] = {
            "call_id": leg.call_id,
            "entry_id": leg.entry_id,
            "seq": leg.seq,
            "timestamp": self._now(),
            "call_state": state,
            "direction": leg.direction,
            "from": dict(leg.caller),
            "to": dict(leg.callee),
        }
        if leg.line_number is not None:
            data["line_number"] = leg.line_number
        if state == DISCONNECTED:
            data["disconnect_reason"] = reason
            data["is_group_disconnect"] = group
            leg.ended.set()
        await self._push(leg.owner, ROUTE_CALL, data)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up at once when the simulator stops."""
        if seconds <= 0 or self._stopping.is_set():
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _step(self) -> None:
        await self._pause(self.step_delay)

    async def _talk(self, seconds: float | None, *legs: Leg) -> float:
        """Wait while a call lasts: `seconds` (None = forever), until a leg ends or stop.

        Returns the seconds waited.
        """
        started = time.monotonic()
        if seconds is not None and seconds <= 0:
            await asyncio.sleep(0)
            return 0.0
        waiters = [asyncio.ensure_future(self._stopping.wait())]
        waiters += [asyncio.ensure_future(leg.ended.wait()) for leg in legs]
        try:
            await asyncio.wait(
                waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        return time.monotonic() - started

    async def _record(
        self, leg: Leg, talked: float, duration: int | None
    ) -> str | None:
        """Push the recording's progress, then AVAILABLE after `record_delay`."""
        if duration is None:
            # Tests talk for 0 s; pretend a realistic conversation took place.
            duration = (
                int(talked)
                if talked > MIN_RECORDED_SECONDS
                else self._random.randint(7, 180)
            )
        if (
            leg.owner is None
            or duration <= MIN_RECORDED_SECONDS
            or self._stopping.is_set()
        ):
            return None
        record_id = self._new_id()
        base = {
            "record_id": record_id,
            "call_id": leg.call_id,
            "entry_id": leg.entry_id,
            "duration": duration,
        }
        await self._push(
            leg.owner,
            ROUTE_RECORD,
            {**base, "status": RECORD_PROCESSING, "timestamp": self._now()},
        )
        await self._pause(self.record_delay)
        if self._stopping.is_set():
            return record_id
        self._records[record_id] = duration
        await self._push(
            leg.owner,
            ROUTE_RECORD,
            {
                **base,
                "status": RECORD_AVAILABLE,
                "url": self._record_file_url(record_id),
                "timestamp": self._now(),
            },
        )
        return record_id

    # -- background tasks ----------------------------------------------------

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run a coroutine in the background; stop() cancels what is still running."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            _LOGGER.error("Simulated call failed: %r", error, exc_info=error)

    async def _cancel_tasks(self) -> None:
        self.stop_auto_calls()
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)

    async def end_calls(self) -> None:
        """Stop the scenarios and hang up every call still in progress.

        What a PBX does when it goes away: each open leg gets its DISCONNECTED (a
        ringing one as ended by the caller), live or into the missed store.
        """
        await self._cancel_tasks()
        for leg in list(self._legs.values()):
            if leg.state not in {None, DISCONNECTED} and not leg.ivr:
                reason = REASON_NORMAL if leg.active else REASON_ENDED_BY_CALLER
                await self._emit(leg, DISCONNECTED, reason=reason)

    def start_scenario(self, name: str, **kwargs: Any) -> asyncio.Task[Any]:
        """Start a scenario method by name in the background; stop() cancels it.

        Raises:
            ValueError: unknown scenario.
            TypeError: arguments that do not fit the scenario.
        """
        if name not in SCENARIOS:
            raise ValueError(
                f"Unknown scenario {name!r}; known: {', '.join(SCENARIOS)}"
            )
        method = getattr(self, name)
        inspect.signature(method).bind(**kwargs)
        return self._spawn(method(**kwargs))

    # -- scenarios -----------------------------------------------------------

    async def _answered(
        self,
        extension: str,
        remote: dict[str, str],
        *,
        line: str | None,
        entry_id: str | None,
        talk_seconds: float | None,
        record: bool,
        duration: int | None,
    ) -> Ids:
        """A call to `extension` that rings, is answered and ends normally."""
        direction = DIRECTION_INTERNAL if "extension" in remote else DIRECTION_IN
        leg = self._new_leg(
            extension,
            direction,
            caller=remote,
            callee=party(extension=extension),
            line=line,
            entry_id=entry_id,
        )
        await self._emit(leg, APPEARED)
        await self._step()
        await self._emit(leg, CONNECTED)
        talked = await self._talk(talk_seconds, leg)
        await self._emit(leg, DISCONNECTED, reason=REASON_NORMAL)
        ids = {"call_id": leg.call_id, "entry_id": leg.entry_id}
        if record and (record_id := await self._record(leg, talked, duration)):
            ids["record_id"] = record_id
        return ids

    async def incoming_answered(
        self,
        extension: str,
        caller: str = DEFAULT_CALLER,
        line: str = DEFAULT_LINE,
        talk_seconds: float | None = 0.0,
        record: bool = True,
        *,
        duration: int | None = None,
    ) -> Ids:
        """An external call to `extension`: APPEARED, CONNECTED, DISCONNECTED (1100).

        Then, when `record`, a /record PROCESSING push and, after `record_delay`,
        AVAILABLE with the url. `talk_seconds=None` talks until the leg is
        transferred or hung up (hang_up) or the simulator stops. `duration` is the
        reported recording length (default: a realistic one; 6 s or less = no record).

        Returns:
            call_id, entry_id and record_id (when a recording was made).
        """
        return await self._answered(
            extension,
            party(number=caller),
            line=line,
            entry_id=None,
            talk_seconds=talk_seconds,
            record=record,
            duration=duration,
        )

    async def incoming_missed(
        self,
        extension: str,
        caller: str = DEFAULT_CALLER,
        line: str = DEFAULT_LINE,
        reason: int = REASON_ENDED_BY_CALLER,
    ) -> Ids:
        """An external call to `extension` nobody answers: APPEARED, DISCONNECTED (`reason`).

        Returns:
            call_id and entry_id.
        """
        leg = self._incoming_leg(extension, caller, line)
        await self._emit(leg, APPEARED)
        await self._step()
        await self._emit(leg, DISCONNECTED, reason=reason)
        return {"call_id": leg.call_id, "entry_id": leg.entry_id}

    async def group_answered_elsewhere(
        self,
        extension: str,
        answered_by: str = "102",
        caller: str = DEFAULT_CALLER,
        line: str = DEFAULT_LINE,
        talk_seconds: float | None = 0.0,
    ) -> Ids:
        """A group call: `extension` rings, `answered_by` answers.

        `extension` gets APPEARED, then DISCONNECTED with is_group_disconnect=True;
        `answered_by` gets APPEARED, CONNECTED, DISCONNECTED.

        Returns:
            call_id (of `extension`), answered_call_id and the shared entry_id.
        """
        if answered_by == extension:
            raise ValueError("answered_by must be another extension")
        missed = self._incoming_leg(extension, caller, line)
        answered = self._incoming_leg(
            answered_by, caller, line, entry_id=missed.entry_id
        )
        await self._emit(missed, APPEARED)
        await self._emit(answered, APPEARED)
        await self._step()
        await self._emit(answered, CONNECTED)
        await self._emit(missed, DISCONNECTED, reason=REASON_NORMAL, group=True)
        await self._talk(talk_seconds, answered)
        await self._emit(answered, DISCONNECTED, reason=REASON_NORMAL)
        return {
            "call_id": missed.call_id,
            "answered_call_id": answered.call_id,
            "entry_id": missed.entry_id,
        }

    def _callback_leg(
        self,
        extension: str,
        destination: str,
        line: str | None,
        call_id: str | None = None,
    ) -> Leg:
        return self._new_leg(
            extension,
            DIRECTION_OUT,
            caller=party(extension=extension),
            callee=party(number=destination),
            line=line,
            call_id=call_id,
        )

    async def outgoing_callback(
        self,
        extension: str,
        destination: str = DEFAULT_DESTINATION,
        talk_seconds: float | None = 0.0,
        *,
        line: str = DEFAULT_LINE,
        busy: bool = False,
        record: bool = False,
    ) -> Ids:
        """What /callback runs: the user's phone rings first, then the PBX dials out.

        The user's leg (the call_id /callback answers with): APPEARED (direction
        out, to=destination), CONNECTED when the user picks up. Then the
        destination's leg (same entry_id): APPEARED, CONNECTED (or DISCONNECTED
        1121 when `busy`), and both end with DISCONNECTED after the talk.

        Returns:
            call_id (the user's leg), destination_call_id, entry_id, record_id.
        """
        leg = self._callback_leg(extension, destination, line)
        return await self._run_callback(leg, talk_seconds, busy=busy, record=record)

    async def _run_callback(
        self, leg: Leg, talk_seconds: float | None, *, busy: bool, record: bool
    ) -> Ids:
        await self._emit(leg, APPEARED)
        await self._step()
        await self._emit(leg, CONNECTED)
        await self._step()
        dialled = self._new_leg(
            leg.owner,
            DIRECTION_OUT,
            caller=dict(leg.caller),
            callee=dict(leg.callee),
            line=leg.line_number,
            entry_id=leg.entry_id,
        )
        await self._emit(dialled, APPEARED)
        await self._step()
        ids = {
            "call_id": leg.call_id,
            "destination_call_id": dialled.call_id,
            "entry_id": leg.entry_id,
        }
        if busy:
            await self._emit(dialled, DISCONNECTED, reason=REASON_BUSY)
            await self._emit(leg, DISCONNECTED, reason=REASON_NORMAL)
            return ids
        await self._emit(dialled, CONNECTED)
        talked = await self._talk(talk_seconds, leg, dialled)
        await self._emit(dialled, DISCONNECTED, reason=REASON_NORMAL)
        await self._emit(leg, DISCONNECTED, reason=REASON_NORMAL)
        if record and (record_id := await self._record(leg, talked, None)):
            ids["record_id"] = record_id
        return ids

    async def incoming_via_ivr(
        self, caller: str = DEFAULT_CALLER, line: str = DEFAULT_LINE
    ) -> Ids:
        """An external call waiting in the IVR: one /ivr APPEARED push.

        It goes to one random registered user, else it is stored as missed for one
        random provisioned user. The call then waits for a route request.

        Returns:
            call_id, entry_id and extension (the user who got it; absent if nobody).
        """
        owner = self._ivr_recipient()
        leg = self._new_leg(
            owner,
            DIRECTION_IN,
            caller=party(number=caller),
            callee=party(number=line),
            line=line,
            ivr=True,
        )
        leg.state = APPEARED
        await self._push(
            owner,
            ROUTE_IVR,
            {
                "call_id": leg.call_id,
                "entry_id": leg.entry_id,
                "status": APPEARED,
                "from": dict(leg.caller),
                "to": dict(leg.callee),
                "line_number": line,
                "timestamp": self._now(),
            },
        )
        ids = {"call_id": leg.call_id, "entry_id": leg.entry_id}
        if owner is not None:
            ids["extension"] = owner
        return ids

    async def hold_and_resume(
        self,
        extension: str,
        caller: str = DEFAULT_CALLER,
        line: str = DEFAULT_LINE,
        talk_seconds: float | None = 0.0,
        hold_seconds: float = 0.0,
    ) -> Ids:
        """An answered external call put on hold and resumed.

        APPEARED, CONNECTED, ONHOLD, CONNECTED, DISCONNECTED (1100).

        Returns:
            call_id and entry_id.
        """
        leg = self._incoming_leg(extension, caller, line)
        await self._emit(leg, APPEARED)
        await self._step()
        await self._emit(leg, CONNECTED)
        await self._step()
        await self._emit(leg, ONHOLD)
        await self._talk(hold_seconds, leg)
        await self._emit(leg, CONNECTED)
        await self._talk(talk_seconds, leg)
        await self._emit(leg, DISCONNECTED, reason=REASON_NORMAL)
        return {"call_id": leg.call_id, "entry_id": leg.entry_id}

    async def internal_call(
        self,
        extension: str,
        to_extension: str = "102",
        talk_seconds: float | None = 0.0,
        answered: bool = True,
    ) -> Ids:
        """A call between two extensions; both legs have direction internal.

        Unanswered: the callee's leg ends with 1110 (ended by caller), the caller's
        with 1111 (no answer).

        Returns:
            call_id (the caller's leg), to_call_id and entry_id.
        """
        if to_extension == extension:
            raise ValueError("to_extension must be another extension")
        caller = party(extension=extension)
        callee = party(extension=to_extension)
        out = self._new_leg(
            extension, DIRECTION_INTERNAL, caller=caller, callee=callee, line=None
        )
        into = self._new_leg(
            to_extension,
            DIRECTION_INTERNAL,
            caller=dict(caller),
            callee=dict(callee),
            line=None,
            entry_id=out.entry_id,
        )
        await self._emit(out, APPEARED)
        await self._emit(into, APPEARED)
        await self._step()
        if answered:
            await self._emit(into, CONNECTED)
            await self._emit(out, CONNECTED)
            await self._talk(talk_seconds, out, into)
            await self._emit(out, DISCONNECTED, reason=REASON_NORMAL)
            await self._emit(into, DISCONNECTED, reason=REASON_NORMAL)
        else:
            await self._emit(into, DISCONNECTED, reason=REASON_ENDED_BY_CALLER)
            await self._emit(out, DISCONNECTED, reason=REASON_NO_ANSWER)
        return {
            "call_id": out.call_id,
            "to_call_id": into.call_id,
            "entry_id": out.entry_id,
        }

    async def hang_up(self, call_id: str, reason: int = REASON_ENDED_BY_CALLER) -> None:
        """The remote party hangs up a leg (the API itself cannot hang up).

        Raises:
            KeyError: the call is unknown.
        """
        leg = self._legs[call_id]
        if leg.ivr:
            leg.state = DISCONNECTED
            leg.ended.set()
            return
        await self._emit(leg, DISCONNECTED, reason=reason)

    # -- requests that act on calls ---------------------------------------------

    def _transferable(self, call_id: str, method: str) -> Leg:
        if method not in {TRANSFER_BLIND, TRANSFER_HOLD}:
            raise ApiError(CODE_INVALID_PARAMETERS, "METHOD must be blind or hold")
        leg = self._legs.get(call_id)
        if leg is None or leg.owner is None or not leg.active:
            raise ApiError(CODE_CALL_NOT_FOUND)
        return leg

    async def transfer(
        self,
        call_id: str,
        to_number: str,
        method: str = TRANSFER_BLIND,
        *,
        talk_seconds: float | None = None,
    ) -> Ids:
        """What /transfer runs on an active leg.

        blind: the user's leg DISCONNECTED (1100); the target extension (if
        TO_NUMBER is one) gets the call: APPEARED, CONNECTED, DISCONNECTED.
        hold: the user's leg ONHOLD; a consultation leg of the user to TO_NUMBER
        APPEARED, CONNECTED (and the target's own leg likewise); then the user's
        leg and the consultation leg DISCONNECTED; the target talks on.

        Raises:
            ApiError: 100 for an unknown method, 112 when the call is not active.

        Returns:
            call_id, entry_id, consult_call_id (hold), target_call_id (extension).
        """
        leg = self._transferable(call_id, method)
        talk = self._default_talk() if talk_seconds is None else talk_seconds
        target_ext = to_number if to_number in self._extensions else None
        ids = {"call_id": leg.call_id, "entry_id": leg.entry_id}
        if method == TRANSFER_BLIND:
            remote = self._remote(leg)
            await self._emit(leg, DISCONNECTED, reason=REASON_NORMAL)
            if target_ext is not None:
                target_ids = await self._answered(
                    target_ext,
                    remote,
                    line=leg.line_number,
                    entry_id=leg.entry_id,
                    talk_seconds=talk,
                    record=False,
                    duration=None,
                )
                ids["target_call_id"] = target_ids["call_id"]
            return ids

        owner = party(extension=leg.owner)
        consult = self._new_leg(
            leg.owner,
            DIRECTION_INTERNAL if target_ext else DIRECTION_OUT,
            caller=owner,
            callee=party(extension=target_ext)
            if target_ext
            else party(number=to_number),
            line=None if target_ext else leg.line_number,
            entry_id=leg.entry_id,
        )
        target = None
        if target_ext is not None:
            target = self._new_leg(
                target_ext,
                DIRECTION_INTERNAL,
                caller=dict(owner),
                callee=party(extension=target_ext),
                line=None,
                entry_id=leg.entry_id,
            )
            ids["target_call_id"] = target.call_id
        ids["consult_call_id"] = consult.call_id
        await self._emit(leg, ONHOLD)
        await self._emit(consult, APPEARED)
        if target is not None:
            await self._emit(target, APPEARED)
        await self._step()
        if target is not None:
            await self._emit(target, CONNECTED)
        await self._emit(consult, CONNECTED)
        await self._step()
        await self._emit(leg, DISCONNECTED, reason=REASON_NORMAL)
        await self._emit(consult, DISCONNECTED, reason=REASON_NORMAL)
        if target is not None:
            await self._talk(talk, target)
            await self._emit(target, DISCONNECTED, reason=REASON_NORMAL)
        return ids

    def _route_request(
        self, call_id: str, to_number: str
    ) -> tuple[Leg, dict[str, Any]]:
        """Check a route request and decide its /route_result."""
        leg = self._legs.get(call_id)
        if leg is None:
            raise ApiError(CODE_CALL_NOT_FOUND)
        routed = to_number in self._extensions
        result = {
            "request_id": str(uuid.UUID(int=self._random.getrandbits(128), version=4)),
            "call_id": call_id,
            "to_number": to_number,
            "result": ROUTE_OK if routed else ROUTE_FAILED,
            "message": "OK" if routed else ROUTE_FAILED_MESSAGE,
            "timestamp": self._now(),
        }
        return leg, result

    async def _route_follow_up(self, leg: Leg, result: dict[str, Any]) -> None:
        """Push /route_result to the call's user, then ring the extension."""
        await self._step()
        await self._push(leg.owner, ROUTE_ROUTE_RESULT, result)
        if result["result"] != ROUTE_OK:
            return
        remote = self._remote(leg)
        if leg.ivr:
            # The call leaves the IVR; /ivr has no event for that.
            leg.state = DISCONNECTED
            leg.ended.set()
        else:
            await self._emit(leg, DISCONNECTED, reason=REASON_NORMAL)
        await self._answered(
            result["to_number"],
            remote,
            line=leg.line_number,
            entry_id=leg.entry_id,
            talk_seconds=self._default_talk(),
            record=False,
            duration=None,
        )

    # -- demo ----------------------------------------------------------------

    def start_auto_calls(self, interval: float) -> None:
        """Start a random realistic scenario every `interval` seconds."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.stop_auto_calls()
        self._auto_task = asyncio.get_running_loop().create_task(
            self._auto_calls(interval)
        )

    def stop_auto_calls(self) -> None:
        """Stop starting scenarios; the running ones finish."""
        if self._auto_task is not None:
            self._auto_task.cancel()
            self._tasks.add(self._auto_task)  # so that stop() waits for it to end
            self._auto_task.add_done_callback(self._tasks.discard)
            self._auto_task = None

    async def _auto_calls(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self._spawn(self._random_scenario(interval))

    async def _random_scenario(self, interval: float) -> Ids:
        users = sorted(self.users)
        if not users:
            _LOGGER.info("Auto calls: no provisioned user yet")
            return {}
        ext = self._random.choice(users)
        others = sorted(self._extensions - {ext})
        caller = self._random_number()
        talk = round(self._random.uniform(0.2, 0.6) * interval, 1)
        scenarios: list[tuple[int, _Scenario]] = [
            (4, lambda: self.incoming_answered(ext, caller, talk_seconds=talk)),
            (
                2,
                lambda: self.incoming_missed(
                    ext,
                    caller,
                    reason=self._random.choice(
                        [REASON_ENDED_BY_CALLER, REASON_NO_ANSWER]
                    ),
                ),
            ),
            (
                2,
                lambda: self.outgoing_callback(
                    ext, self._random_number(), talk, record=True
                ),
            ),
            (1, lambda: self.hold_and_resume(ext, caller, talk_seconds=talk)),
            (1, lambda: self.incoming_via_ivr(caller)),
        ]
        if others:
            other = self._random.choice(others)
            scenarios += [
                (
                    1,
                    lambda: self.group_answered_elsewhere(
                        ext, other, caller, talk_seconds=talk
                    ),
                ),
                (1, lambda: self.internal_call(ext, other, talk)),
            ]
        weights = [weight for weight, _ in scenarios]
        scenario = self._random.choices([run for _, run in scenarios], weights)[0]
        return await scenario()
