/**
 * Reports and the admins' review queue: a participant reports a message of the other side (once;
 * asking again answers the same report), admins page the queue and resolve each report with an
 * action that takes effect exactly as if they had called its route (delete the message, block or
 * end the conversation), recording who resolved it, how and when.
 */
import { ConflictError, ForbiddenError, NotFoundError } from '#core/errors';
import type { Identity, Message, Report, ReportReason, ReportResolution, ReportStatus } from '#core/model';
import { requireCapabilityEverywhere } from '#core/policy';
import type { Clock, MessageStore, ReportStore } from '#core/ports';
import { isSenderOf, loadReadableMessage, requireParticipant } from './access.ts';
import type { PublishChanges } from './publish.ts';
import { iso, toWireMessage } from './wire.ts';

/** A report on the wire, with its message as it is now (a deleted one is a tombstone). */
export function toWireReport(report: Report, message: Message) {
  return {
    id: report.id,
    status: report.status,
    reason: report.reason,
    note: report.note,
    reporterId: report.reporterId,
    conversationId: report.conversationId,
    message: toWireMessage(message),
    createdAt: iso(report.createdAt),
    ...(report.resolvedAt ? { resolvedAt: iso(report.resolvedAt) } : {}),
    ...(report.resolution ? { resolution: report.resolution, resolvedBy: report.resolvedBy, resolutionNote: report.resolutionNote } : {}),
  };
}
export type WireReport = ReturnType<typeof toWireReport>;

export interface ReportMessageInput {
  identity: Identity;
  conversationId: string;
  messageId: string;
  reason: ReportReason;
  note?: string | null;
}

/**
 * `POST /conversations/:id/messages/:messageId/report`: participants, about a message they did
 * not send. A new report's `report.created` event (for webhooks; never in `/sync`) is published
 * after it is stored, without holding up the answer's outcome.
 */
export function makeReportMessage({ messages, reports, publish }: { messages: Pick<MessageStore, 'context'>; reports: Pick<ReportStore, 'file'>; publish: PublishChanges }) {
  return async ({ identity, conversationId, messageId, reason, note }: ReportMessageInput): Promise<{ report: WireReport; created: boolean }> => {
    const { message, conversation } = await loadReadableMessage(messages, identity, messageId, conversationId);
    const side = requireParticipant(identity, conversation);
    if (isSenderOf(identity, side, message)) throw new ForbiddenError('You cannot report your own message');
    const { report, created, changes } = await reports.file({ conversationId, messageId, reporterId: identity.userId, reason, note: note ?? null });
    await publish(changes, { report, message, conversation });
    return { report: toWireReport(report, message), created };
  };
}

/** `GET /moderation/reports`: the queue, oldest first, for admins. */
export function makeListReports({ reports }: { reports: Pick<ReportStore, 'list'> }) {
  return async ({ identity, status, limit, cursor }: { identity: Identity; status: ReportStatus; limit: number; cursor?: string | null }) => {
    requireCapabilityEverywhere(identity, 'moderate');
    const page = await reports.list(status, limit, cursor ?? null);
    return { reports: page.reports.map(({ report, message }) => toWireReport(report, message)), nextCursor: page.nextCursor };
  };
}

type AdminAction = (input: { identity: Identity; conversationId: string; messageId?: string }) => Promise<unknown>;

export interface ResolveReportDeps {
  reports: Pick<ReportStore, 'get' | 'resolve'>;
  messages: Pick<MessageStore, 'get'>;
  clock: Clock;
  /** The use cases the actions stand for, called as the admin. */
  actions: Record<Exclude<ReportResolution, 'dismiss'>, AdminAction>;
}

/**
 * `POST /moderation/reports/:id/resolve`: admins. The action runs first, exactly as its route
 * would for this admin (and fails the same way: ending a blocked conversation answers 409, and
 * the report stays OPEN); then the report is RESOLVED with who, how and when.
 */
export function makeResolveReport({ reports, messages, clock, actions }: ResolveReportDeps) {
  return async ({ identity, reportId, action, note }: { identity: Identity; reportId: string; action: ReportResolution; note?: string | null }) => {
    requireCapabilityEverywhere(identity, 'moderate');
    const report = await reports.get(reportId);
    if (!report) throw new NotFoundError('Report not found');
    if (report.status !== 'OPEN') throw new ConflictError('This report was resolved already', { resolution: report.resolution });
    if (action !== 'dismiss') await actions[action]({ identity, conversationId: report.conversationId, messageId: report.messageId });
    const resolved = await reports.resolve(reportId, { resolution: action, resolvedBy: identity.userId, resolutionNote: note ?? null, at: clock.now() });
    if (!resolved) throw new ConflictError('This report was resolved by someone else meanwhile');
    const message = await messages.get(report.messageId);
    if (!message) throw new NotFoundError('The reported message no longer exists');
    return { report: toWireReport(resolved, message) };
  };
}
