"""The README's service example, word for word but for the URL and key taken from argv."""

import sys

from pydantic import BaseModel

from orra_sdk import Service, Task


class In(BaseModel):
    customerId: str


class Out(BaseModel):
    customerProfile: dict


svc = Service(
    "customer-data-service",
    description="Retrieves a customer's profile by id",
    url=sys.argv[1],
    api_key=sys.argv[2],
)


@svc.handler
async def profile(task: Task[In]) -> Out:
    return Out(customerProfile={"id": task.input.customerId, "name": "Jane Doe"})


svc.run_forever()  # registers, connects, reconnects forever; Ctrl-C stops it quietly
