// Generated from sdk/python/orra_sdk/vocabulary.py by
// `python -m orra_sdk.vocabulary --typescript`: do not edit by hand.

export const OrchestrationStatus = { PENDING: "PENDING", RUNNING: "RUNNING", PAUSED: "PAUSED", AWAITING_APPROVAL: "AWAITING_APPROVAL", COMPLETED: "COMPLETED", FAILED: "FAILED", ABORTED: "ABORTED", CANCELLED: "CANCELLED", NOT_ACTIONABLE: "NOT_ACTIONABLE" } as const;
export type OrchestrationStatus = (typeof OrchestrationStatus)[keyof typeof OrchestrationStatus];
export const StepStatus = { PENDING: "PENDING", RUNNING: "RUNNING", RETRYING: "RETRYING", AWAITING_APPROVAL: "AWAITING_APPROVAL", COMPLETED: "COMPLETED", FAILED: "FAILED", ABORTED: "ABORTED", CANCELLED: "CANCELLED", SKIPPED: "SKIPPED" } as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];
/** The `type` of every event in an orchestration's history (`/events`, `/logs`). */
export const EventKind = {
  ORCHESTRATION_ACCEPTED: "orchestration_accepted",
  ORCHESTRATION_RUNNING: "orchestration_running",
  ORCHESTRATION_PAUSED: "orchestration_paused",
  ORCHESTRATION_AWAITING_APPROVAL: "orchestration_awaiting_approval",
  ORCHESTRATION_COMPLETED: "orchestration_completed",
  ORCHESTRATION_FAILED: "orchestration_failed",
  ORCHESTRATION_ABORTED: "orchestration_aborted",
  ORCHESTRATION_CANCELLED: "orchestration_cancelled",
  ORCHESTRATION_NOT_ACTIONABLE: "orchestration_not_actionable",
  RECOVERY_FAILED: "recovery_failed",
  RERUN_OF: "rerun_of",
  LLM_CALL: "llm_call",
  PLAN_CACHE_HIT: "plan_cache_hit",
  PLAN_CACHE_MISS: "plan_cache_miss",
  PLAN_MADE: "plan_made",
  PLAN_FAILED: "plan_failed",
  PLAN_REVISED: "plan_revised",
  REPLAN_FAILED: "replan_failed",
  STEP_DISPATCHED: "step_dispatched",
  STEP_STATUS: "step_status",
  STEP_INTERIM_RESULT: "step_interim_result",
  STEP_RETRYING: "step_retrying",
  STEP_COMPLETED: "step_completed",
  STEP_FAILED: "step_failed",
  STEP_FAILED_LATE: "step_failed_late",
  STEP_ABORTED: "step_aborted",
  STEP_REUSED: "step_reused",
  APPROVAL_REQUESTED: "approval_requested",
  STEP_APPROVED: "step_approved",
  STEP_REJECTED: "step_rejected",
  COMPENSATION_SCHEDULED: "compensation_scheduled",
  COMPENSATION_DISPATCHED: "compensation_dispatched",
  COMPENSATION_COMPLETED: "compensation_completed",
  COMPENSATION_ATTEMPT_FAILED: "compensation_attempt_failed",
  COMPENSATION_EXPIRED: "compensation_expired",
  COMPENSATION_FAILED: "compensation_failed",
  COMPENSATIONS_FINISHED: "compensations_finished",
  COMPENSATION_FAILURE_RESOLVED: "compensation_failure_resolved",
  COMPENSATION_FAILURE_IGNORED: "compensation_failure_ignored",
  WEBHOOK_ATTEMPT: "webhook_attempt",
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];
/** What `POST /orchestrations` (and a re-run) answers besides `NOT_ACTIONABLE`. */
export const SubmissionStatus = { ACCEPTED: "ACCEPTED", PREVIEW: "PREVIEW" } as const;
export type SubmissionStatus = (typeof SubmissionStatus)[keyof typeof SubmissionStatus];
/** The `type` of a frame the control plane sends to a service. */
export const ControlFrame = { TASK_REQUEST: "task_request", TASK_CANCEL: "task_cancel", COMPENSATION_REQUEST: "compensation_request", PING: "ping", ACK: "ACK" } as const;
export type ControlFrame = (typeof ControlFrame)[keyof typeof ControlFrame];
/** States only the client draws; the server never sends them. */
export const DrawnState = { INVALID: "INVALID", TIMEOUT: "TIMEOUT", ERROR: "ERROR" } as const;
export type DrawnState = (typeof DrawnState)[keyof typeof DrawnState];
export const ServiceFrame = { PONG: "pong", TASK_RESULT: "task_result", TASK_INTERIM_RESULT: "task_interim_result", TASK_ABORT_RESULT: "task_abort_result", TASK_STATUS: "task_status" } as const;
export type ServiceFrame = (typeof ServiceFrame)[keyof typeof ServiceFrame];
export const ApprovalStatus = { REQUIRED: "required", APPROVED: "approved", REJECTED: "rejected" } as const;
export type ApprovalStatus = (typeof ApprovalStatus)[keyof typeof ApprovalStatus];
export const CompensationStatus = { PENDING: "pending", RUNNING: "running", COMPLETED: "completed", PARTIAL: "partial", FAILED: "failed", EXPIRED: "expired" } as const;
export type CompensationStatus = (typeof CompensationStatus)[keyof typeof CompensationStatus];
export const CompensationReason = { FAILED: "failed", ABORTED: "aborted", CANCELLED: "cancelled" } as const;
export type CompensationReason = (typeof CompensationReason)[keyof typeof CompensationReason];
export const TaskProgress = { IN_PROGRESS: "in_progress" } as const;
export type TaskProgress = (typeof TaskProgress)[keyof typeof TaskProgress];
export const CompensationFailureStatus = { PENDING: "pending", RESOLVED: "resolved", IGNORED: "ignored" } as const;
export type CompensationFailureStatus = (typeof CompensationFailureStatus)[keyof typeof CompensationFailureStatus];
export const DeliveryStatus = { PENDING: "pending", DELIVERED: "delivered", FAILED: "failed" } as const;
export type DeliveryStatus = (typeof DeliveryStatus)[keyof typeof DeliveryStatus];
export const PONG_MESSAGE_ID = "pong";
