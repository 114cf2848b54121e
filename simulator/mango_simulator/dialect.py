"""The VPBX API's spellings, which the simulator speaks with ``dialect="vpbx"`` (``--dialect vpbx``).

The vendor's documented API for external systems (the VPBX API) very likely
shares the server-client API's backend and spells things its own way. Written
out here from the VPBX documentation's examples, independently of the
client's wire.py, so that a spelling the client does not read makes a test
fail:

- call_state in TitleCase; no direction (the summary's call_direction is
  0 internal, 1 incoming, 2 outgoing); line_number inside "to"; "to" may be
  {}; an extension's number as a SIP URI; seq, timestamp, extension and
  disconnect_reason as strings; location, transfer, command_id, sip_call_id;
- a summary of each call once it ended (/summary);
- recordings as /recording with recording_id, recording_state Started or
  Completed and a completion_code, without url or duration;
- command results named by the client's command_id, with four-digit codes
  (1000 success), and four-digit result codes in every answer.
"""

from typing import Any, Final

SERVER_CLIENT: Final = "server-client"
VPBX: Final = "vpbx"
DIALECTS: Final = (SERVER_CLIENT, VPBX)

SIP_DOMAIN: Final = "vpbx400000001.mangosip.ru"
_STATES: Final = {
    "APPEARED": "Appeared",
    "CONNECTED": "Connected",
    "ONHOLD": "OnHold",
    "DISCONNECTED": "Disconnected",
}
_CALL_DIRECTIONS: Final = {"internal": 0, "in": 1, "out": 2}
_RECORDING_STATES: Final = {"PROCESSING": "Started", "AVAILABLE": "Completed"}
SUCCESS: Final = 1000
# The server-client API's result codes (as the simulator assumes them) and
# the VPBX API's four-digit ones. "None left" and "already exists" are
# successes there.
RESULT_CODES: Final = {
    0: SUCCESS,
    109: SUCCESS,
    110: SUCCESS,
    100: 3100,
    103: 3102,
    111: 3300,
    112: 3310,
    113: 3320,
    114: 4001,
    115: 4002,
    500: 5000,
}
# A route that found nobody to take the call.
ROUTE_FAILED: Final = 4000


def result_code(code: int) -> int:
    """The VPBX API's code for one of the simulator's result codes."""
    return RESULT_CODES.get(code, code if code >= 1000 else 4000)


def to_vpbx(
    message: dict[str, Any], command_ids: dict[str, str]
) -> list[dict[str, Any]]:
    """A push message as the VPBX API spells it (a call's end brings its summary too).

    `command_ids` maps the simulator's route request ids to the command ids
    the client sent with them.
    """
    route_key = message.get("routeKey")
    data = message.get("data")
    if not isinstance(data, dict):
        return [message]
    match route_key:
        case "/call":
            return _call(data)
        case "/record":
            return [{"routeKey": "/recording", "data": _recording(data)}]
        case "/route_result":
            return [{"routeKey": route_key, "data": _result(data, command_ids)}]
        case "/ivr":
            return [{"routeKey": route_key, "data": _ivr(data)}]
    return [message]


def _party(value: Any, line_number: Any = None) -> dict[str, Any]:
    party = dict(value) if isinstance(value, dict) else {}
    if (extension := party.get("extension")) is not None:
        party["extension"] = str(extension)
        party.setdefault("number", f"sip:{extension}@{SIP_DOMAIN}")
    if line_number is not None:
        party["line_number"] = line_number
    return party


def _call(data: dict[str, Any]) -> list[dict[str, Any]]:
    state = _STATES.get(str(data.get("call_state")), data.get("call_state"))
    call = {
        "entry_id": data.get("entry_id"),
        "call_id": data.get("call_id"),
        "timestamp": str(data.get("timestamp", "")),
        "seq": str(data.get("seq", "")),
        "call_state": state,
        "location": "abonent",
        "from": _party(data.get("from")),
        "to": _party(data.get("to"), data.get("line_number")),
        "disconnect_reason": str(data.get("disconnect_reason", 0)),
        "transfer": "",
        "sip_call_id": f"{data.get('call_id')}@{SIP_DOMAIN}",
        "command_id": "",
    }
    if data.get("is_group_disconnect"):
        call["is_group_disconnect"] = True
    frames = [{"routeKey": "/call", "data": call}]
    if state == "Disconnected" and not data.get("is_group_disconnect"):
        frames.append({"routeKey": "/summary", "data": _summary(data)})
    return frames


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    ended = data.get("timestamp")
    return {
        "entry_id": data.get("entry_id"),
        "call_direction": _CALL_DIRECTIONS.get(str(data.get("direction")), 1),
        "from": _party(data.get("from")),
        "to": _party(data.get("to")),
        "line_number": data.get("line_number", ""),
        "create_time": ended,
        "forward_time": 0,
        "talk_time": 0,
        "end_time": ended,
        "entry_result": 1,
        "disconnect_reason": data.get("disconnect_reason", 0),
    }


def _recording(data: dict[str, Any]) -> dict[str, Any]:
    state = _RECORDING_STATES.get(str(data.get("status")), "Continued")
    recording = {
        "recording_id": data.get("record_id"),
        "recording_state": state,
        "entry_id": data.get("entry_id"),
        "call_id": data.get("call_id"),
        "timestamp": str(data.get("timestamp", "")),
    }
    if state == "Completed":
        recording["completion_code"] = str(SUCCESS)
    return recording


def _result(data: dict[str, Any], command_ids: dict[str, str]) -> dict[str, Any]:
    request_id = str(data.get("request_id"))
    return {
        "command_id": command_ids.get(request_id, request_id),
        "call_id": data.get("call_id"),
        "to_number": data.get("to_number"),
        "result": SUCCESS if data.get("result") == 0 else ROUTE_FAILED,
        "message": data.get("message"),
        "timestamp": str(data.get("timestamp", "")),
    }


def _ivr(data: dict[str, Any]) -> dict[str, Any]:
    ivr = dict(data)
    ivr["status"] = str(data.get("status", "")).title()
    ivr["timestamp"] = str(data.get("timestamp", ""))
    ivr["from"] = _party(data.get("from"))
    ivr["to"] = _party(data.get("to"), data.get("line_number"))
    ivr.pop("line_number", None)
    return ivr
