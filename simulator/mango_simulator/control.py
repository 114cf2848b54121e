"""The control interface under /_simulator/: JSON, no auth (binds to 127.0.0.1).

GET  /_simulator/           this list and the scenarios
GET  /_simulator/requests   the recorded API requests
GET  /_simulator/request_times  when each request came: {"api": [...], "websockets": [...]}
                            (CLOCK_MONOTONIC seconds, as Python's time.monotonic)
GET  /_simulator/state      users, registered users, missed counts, open websockets
POST /_simulator/push       {"extension", "message"} or {"extension", "raw": "text"} or
                            {"extension", "binary": "base64 of a binary frame"} or
                            {"messages": {extension: message, ...}}: one each, at once,
                            answered with when each went ("sent_at", CLOCK_MONOTONIC ns)
POST /_simulator/scenario   {"name", "wait": false, ...the scenario's arguments}
POST /_simulator/faults     {"drop_websockets": true} | {"refuse_websockets": 30} |
                            {"outage": 60 (websockets dropped, every request refused)} |
                            {"fail_next": {"path", "count", "mode"}} |
                            {"fail_for": {"path", "seconds", "mode" or "modes": [...]}} |
                            {"revoke_token": "..."} |
                            {"send_malformed": "101"} | {"send_unknown": "101"} |
                            {"stall_websockets": true} | {"duplicate_live_into_missed": true} |
                            {"expire_record_links": true} | {"delete_record": "record id"}
POST /_simulator/config     {"add_token": "..."} | {"add_extension": "104"} |
                            {"auto_calls": 20 (seconds) or 0 (off)} |
                            {"step_delay": 2} | {"record_delay": 10} | {"hang_seconds": 5} |
                            {"record_link_ttl": 60 (seconds a recording's link works)}
"""

import base64
import binascii
from collections.abc import Awaitable, Callable
import dataclasses
import inspect
import time
from typing import Any, Final

from aiohttp import web

from .simulator import MangoSimulator
from .telephony import SCENARIOS
from .wire import ApiError

PREFIX: Final = "/_simulator"

type _Action = Callable[[Any], Awaitable[None] | None]


class _BadRequestError(Exception):
    """A control request that cannot be carried out."""


def routes(sim: MangoSimulator) -> list[web.RouteDef]:
    """The control endpoints of one simulator, for `sim.start(routes=...)`."""
    control = _Control(sim)
    return [
        web.get(f"{PREFIX}/", control.index),
        web.get(f"{PREFIX}/requests", control.requests),
        web.get(f"{PREFIX}/request_times", control.request_times),
        web.get(f"{PREFIX}/state", control.state),
        web.post(f"{PREFIX}/push", control.push),
        web.post(f"{PREFIX}/scenario", control.scenario),
        web.post(f"{PREFIX}/faults", control.faults),
        web.post(f"{PREFIX}/config", control.config),
    ]


def scenario_help() -> dict[str, dict[str, Any]]:
    """Each scenario: the first line of its description and its arguments.

    Arguments as a call would name them: "extension" must be given, "caller='+7...'"
    has that default.
    """
    described = {}
    for name in SCENARIOS:
        method = getattr(MangoSimulator, name)
        parameters = list(inspect.signature(method).parameters.values())[1:]
        described[name] = {
            "summary": (method.__doc__ or "").strip().splitlines()[0],
            "arguments": [
                parameter.name
                if parameter.default is inspect.Parameter.empty
                else f"{parameter.name}={parameter.default!r}"
                for parameter in parameters
            ],
        }
    return described


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _BadRequestError("The body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _BadRequestError("The body must be a JSON object")
    return body


def _handles_errors(
    handler: Callable[[_Control, web.Request], Awaitable[web.Response]],
) -> Callable[[_Control, web.Request], Awaitable[web.Response]]:
    async def wrapper(self: _Control, request: web.Request) -> web.Response:
        try:
            return await handler(self, request)
        except (_BadRequestError, ValueError, TypeError, KeyError) as error:
            return web.json_response({"error": str(error)}, status=400)
        except LookupError as error:
            return web.json_response({"error": str(error)}, status=409)
        except ApiError as error:
            return web.json_response(
                {"error": error.message, "code": error.code}, status=400
            )

    return wrapper


class _Control:
    def __init__(self, sim: MangoSimulator) -> None:
        self._sim = sim

    async def index(self, request: web.Request) -> web.Response:
        # The module's docstring from the first endpoint on: one source for both.
        lines = (__doc__ or "").splitlines()
        first = next(
            (i for i, line in enumerate(lines) if line.startswith("GET ")), len(lines)
        )
        return web.json_response(
            {"endpoints": lines[first:], "scenarios": scenario_help()}
        )

    async def requests(self, request: web.Request) -> web.Response:
        return web.json_response(
            [dataclasses.asdict(item) for item in self._sim.requests]
        )

    async def request_times(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"api": self._sim.request_times, "websockets": self._sim.websocket_times}
        )

    async def state(self, request: web.Request) -> web.Response:
        sim = self._sim
        users = sorted(sim.users)
        return web.json_response(
            {
                "extensions": sorted(sim.extensions),
                "users": users,
                "registered": [ext for ext in users if sim.is_registered(ext)],
                "missed": {ext: len(sim.missed(ext)) for ext in users},
                "websockets": sim.open_websockets,
                "active_calls": sim.active_calls(),
            }
        )

    @_handles_errors
    async def push(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if isinstance(messages := body.get("messages"), dict):
            sent_at = {}
            for extension, message in messages.items():
                sent_at[extension] = time.monotonic_ns()
                await self._sim.push(extension, message)
            return web.json_response({"sent_at": sent_at})
        extension = str(body["extension"])
        if "raw" in body:
            await self._sim.push_raw(extension, str(body["raw"]))
        elif "binary" in body:
            try:
                data = base64.b64decode(str(body["binary"]), validate=True)
            except binascii.Error:
                raise _BadRequestError('"binary" must be base64') from None
            await self._sim.push_bytes(extension, data)
        elif isinstance(message := body.get("message"), dict):
            await self._sim.push(extension, message)
        else:
            raise _BadRequestError(
                'Give "message" (an object), "raw" (a text) or "binary" (base64)'
            )
        return web.json_response(
            {"extension": extension, "registered": self._sim.is_registered(extension)}
        )

    @_handles_errors
    async def scenario(self, request: web.Request) -> web.Response:
        body = await _body(request)
        name = str(body.pop("name", ""))
        wait = bool(body.pop("wait", False))
        task = self._sim.start_scenario(name, **body)
        if not wait:
            return web.json_response({"scenario": name, "started": True}, status=202)
        return web.json_response({"scenario": name, "ids": await task})

    @_handles_errors
    async def faults(self, request: web.Request) -> web.Response:
        sim = self._sim

        async def drop(value: Any) -> None:
            if value:
                await sim.drop_websockets()

        def fail_next(value: Any) -> None:
            if not isinstance(value, dict):
                raise _BadRequestError('"fail_next" takes {"path", "count", "mode"}')
            sim.fail_next(
                str(value["path"]),
                int(value.get("count", 1)),
                str(value.get("mode", "500")),
            )

        def fail_for(value: Any) -> None:
            if not isinstance(value, dict):
                raise _BadRequestError(
                    '"fail_for" takes {"path", "seconds", "mode" or "modes"}'
                )
            sim.fail_for(
                str(value["path"]),
                float(value["seconds"]),
                value.get("modes", str(value.get("mode", "500"))),
            )

        def expire_links(value: Any) -> None:
            if value:
                sim.expire_record_links()

        actions: dict[str, _Action] = {
            "drop_websockets": drop,
            "refuse_websockets": lambda value: sim.refuse_websockets(float(value)),
            "outage": lambda value: sim.outage(float(value)),
            "fail_next": fail_next,
            "fail_for": fail_for,
            "revoke_token": lambda value: sim.revoke_token(str(value)),
            "send_malformed": lambda value: sim.send_malformed(str(value)),
            "send_unknown": lambda value: sim.send_unknown(str(value)),
            "stall_websockets": lambda value: sim.stall_websockets(bool(value)),
            "duplicate_live_into_missed": lambda value: sim.duplicate_live_into_missed(
                bool(value)
            ),
            "expire_record_links": expire_links,
            "delete_record": lambda value: sim.delete_record(str(value)),
        }
        return await _apply(await _body(request), actions)

    @_handles_errors
    async def config(self, request: web.Request) -> web.Response:
        sim = self._sim

        def auto_calls(value: Any) -> None:
            if value:
                sim.start_auto_calls(float(value))
            else:
                sim.stop_auto_calls()

        def set_delay(name: str) -> _Action:
            return lambda value: setattr(sim, name, float(value))

        actions: dict[str, _Action] = {
            "add_token": lambda value: sim.add_token(str(value)),
            "add_extension": lambda value: sim.add_extension(str(value)),
            "auto_calls": auto_calls,
            "step_delay": set_delay("step_delay"),
            "record_delay": set_delay("record_delay"),
            "hang_seconds": set_delay("hang_seconds"),
            "record_link_ttl": set_delay("record_link_ttl"),
        }
        return await _apply(await _body(request), actions)


async def _apply(body: dict[str, Any], actions: dict[str, _Action]) -> web.Response:
    """Run the actions a body names, in its order, once all names are known."""
    if unknown := sorted(set(body) - set(actions)):
        raise _BadRequestError(f"Unknown keys {unknown}; known: {sorted(actions)}")
    for key, value in body.items():
        if (pending := actions[key](value)) is not None:
            await pending
    return web.json_response({"applied": list(body)})
