"""A local simulator of MANGO OFFICE's "Server-Client" API, for tests and demos.

sim = MangoSimulator(tokens={"secret"}, extensions={"101", "102"})
await sim.start()          # then point a client at sim.base_url
await sim.start(routes=control.routes(sim))   # or with the control interface
await sim.incoming_answered("101")
await sim.stop()
"""

from .simulator import MangoSimulator, RecordedRequest
from .telephony import SCENARIOS
from .wire import ApiError

__all__ = ["SCENARIOS", "ApiError", "MangoSimulator", "RecordedRequest"]
