/**
 * The wire protocol (docs: shared/protocol.md, compatible with the original orra SDKs): what
 * the control plane sends, read defensively, and the frames a service sends back.
 */

import { CompensationReason, ControlFrame, PONG_MESSAGE_ID, ServiceFrame } from "./vocabulary.js";

/** The largest frame either side accepts; the control plane closes the socket past it. */
export const MAX_FRAME = 16 * 1024 * 1024;
/** Room kept in a frame for the envelope around a result. */
export const ENVELOPE = 4096;

export interface Ping {
  type: typeof ControlFrame.PING;
  serviceId?: string;
}
export interface Ack {
  type: typeof ControlFrame.ACK;
  id: string;
}
export interface TaskRequest {
  type: typeof ControlFrame.TASK_REQUEST;
  id: string;
  input: Record<string, unknown>;
  executionId: string;
  idempotencyKey: string;
  serviceId?: string;
}
export interface CompensationContext {
  orchestrationId: string;
  reason: CompensationReason | (string & {});
  payload: unknown;
  timestamp: string;
}
export interface CompensationRequest {
  type: typeof ControlFrame.COMPENSATION_REQUEST;
  id: string;
  input: { originalTask?: unknown; taskResult?: unknown } & Record<string, unknown>;
  compensationContext?: CompensationContext;
  executionId: string;
  idempotencyKey: string;
  serviceId?: string;
}
export interface TaskCancel {
  type: typeof ControlFrame.TASK_CANCEL;
  idempotencyKey: string;
  executionId?: string;
}

export type ServerMessage = Ping | Ack | TaskRequest | CompensationRequest | TaskCancel;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A frame from the control plane, or undefined for one this SDK does not understand. */
export function decode(frame: string): ServerMessage | undefined {
  let message: unknown;
  try {
    message = JSON.parse(frame);
  } catch {
    return undefined;
  }
  if (!isObject(message)) return undefined;
  switch (message.type) {
    case ControlFrame.PING:
      return { type: ControlFrame.PING, serviceId: stringOr(message.serviceId) };
    case ControlFrame.ACK:
      return typeof message.id === "string" ? { type: ControlFrame.ACK, id: message.id } : undefined;
    case ControlFrame.TASK_REQUEST:
    case ControlFrame.COMPENSATION_REQUEST:
      if (typeof message.idempotencyKey !== "string" || typeof message.id !== "string") {
        return undefined;
      }
      return {
        ...message,
        input: isObject(message.input) ? message.input : {},
        executionId: stringOr(message.executionId) ?? "",
      } as TaskRequest | CompensationRequest;
    case ControlFrame.TASK_CANCEL:
      return typeof message.idempotencyKey === "string"
        ? { type: ControlFrame.TASK_CANCEL, idempotencyKey: message.idempotencyKey }
        : undefined;
    default:
      return undefined;
  }
}

function stringOr(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** The fields every answer to a request carries. */
export interface ReplyHeader {
  taskId: string;
  idempotencyKey: string;
  executionId: string;
  serviceId: string;
}

export function replyHeader(request: TaskRequest | CompensationRequest, serviceId: string): ReplyHeader {
  return {
    taskId: request.id,
    idempotencyKey: request.idempotencyKey,
    executionId: request.executionId,
    serviceId,
  };
}

/** A message that expects an ACK: `{id, payload}`. */
export function envelope(id: string, payload: Record<string, unknown>): string {
  return JSON.stringify({ id, payload });
}

export function pong(serviceId: string): string {
  return JSON.stringify({ id: PONG_MESSAGE_ID, payload: { type: ServiceFrame.PONG, serviceId } });
}

/** Bytes of `text` as UTF-8 (what the frame limit counts). */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}
