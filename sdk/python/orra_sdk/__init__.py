"""Orra Studio's service SDK: register a service or agent and serve its tasks.

svc = Service("echo", description="Echoes a message", api_key=KEY)

@svc.handler
async def echo(task: Task[In]) -> Out: ...

svc.run_forever()        # or: await svc.run() inside your own event loop
"""

from .errors import OrraError, RegistrationError, TaskAborted
from .service import Agent, Service, run_forever
from .task import Task

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "OrraError",
    "RegistrationError",
    "Service",
    "Task",
    "TaskAborted",
    "__version__",
    "run_forever",
]
