"""``GET /ws``: a service instance's websocket, framed as protocol.md describes.

Services wrap messages as ``{"id", "payload"}`` and get ``{"type": "ACK", "id"}`` back — for a
result, only after it has committed. Bare payloads (the JS SDK's re-sends) get no ACK. The pong
(``id == "pong"``) gets no ACK. Duplicates are normal and deduplicated by the engine.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ..connections import Instance
from ..ids import is_well_formed_api_key
from .routing import OrjsonRoute
from .runtime import Runtime, runtime_of

router = APIRouter(route_class=OrjsonRoute)
log = logging.getLogger("orra.ws")

#: close codes the orra SDKs reconnect after (1000/1001/1005 make the Python SDK give up)
POLICY_VIOLATION = 1008


@router.websocket("/ws")
async def service_socket(websocket: WebSocket) -> None:
    runtime = runtime_of(websocket)
    service_id = websocket.query_params.get("serviceId", "")
    key = websocket.query_params.get("apiKey", "")
    project_id = runtime.project_for_key(key) if is_well_formed_api_key(key) else None
    service = runtime.registry.by_id(service_id) if service_id else None
    if project_id is None or service is None or service["project_id"] != project_id:
        await websocket.close(code=POLICY_VIOLATION)  # before accept: an HTTP 403, no upgrade
        return
    await websocket.accept()
    instance = Instance(service_id=service_id, project_id=project_id, socket=websocket)
    runtime.hub.add(instance)
    pending_acks: set[asyncio.Task[None]] = set()
    try:
        while True:
            text = await websocket.receive_text()
            _handle(runtime, instance, text, pending_acks)
    except WebSocketDisconnect:
        pass
    except RuntimeError:  # receive after close
        pass
    finally:
        runtime.hub.remove(instance)


def _handle(runtime: Runtime, instance: Instance, text: str, acks: set[asyncio.Task[None]]):
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        log.warning("service %s sent a frame that is not JSON", instance.service_id)
        return
    if not isinstance(message, dict):
        return
    if "payload" in message and isinstance(message.get("payload"), dict):
        message_id = message.get("id")
        payload = message["payload"]
    else:
        message_id = None  # a bare re-sent payload: handled, never ACKed
        payload = message
    if message_id == "pong" or payload.get("type") == "pong":
        return
    commit = _dispatch(runtime, instance, payload)
    if message_id is None:
        return
    task = asyncio.get_running_loop().create_task(_ack(instance, message_id, commit))
    acks.add(task)
    task.add_done_callback(acks.discard)


def _dispatch(runtime: Runtime, instance: Instance, payload: dict[str, Any]):
    kind = payload.get("type")
    engine = runtime.engine
    if kind == "task_result":
        return engine.on_task_result(instance, payload)
    if kind == "task_interim_result":
        return engine.on_interim_result(instance, payload)
    if kind == "task_abort_result":
        return engine.on_abort_result(instance, payload)
    if kind == "task_status":
        return engine.on_task_status(instance, payload)
    return None  # unknown types: nothing to record


async def _ack(instance: Instance, message_id: Any, commit) -> None:
    if commit is not None:
        try:
            await commit
        except Exception:
            log.exception("could not record a message from %s; not ACKing it", instance.service_id)
            return  # the SDK re-sends unACKed messages after reconnecting
    try:
        await instance.send({"type": "ACK", "id": message_id})
    except Exception:
        pass
