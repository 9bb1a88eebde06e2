-- Response times: the provider's statistics (GET /providers/:providerId/stats) read data the
-- append keeps up to date, never a walk over messages in order.
--   * chatConversations.awaitingReplySince: the start of the customer's current wait, or NULL;
--   * chatFirstResponses: one row per answered wait (asked, answered, by whom);
--   * counts of messages in a time range are an index range per conversation of the provider.

-- AlterTable
ALTER TABLE "chatConversations" ADD COLUMN     "awaitingReplySince" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "chatFirstResponses" (
    "id" BIGSERIAL NOT NULL,
    "conversationId" TEXT NOT NULL,
    "providerId" INTEGER NOT NULL,
    "askedAt" TIMESTAMP(3) NOT NULL,
    "answeredAt" TIMESTAMP(3) NOT NULL,
    "responderId" INTEGER NOT NULL,

    CONSTRAINT "chatFirstResponses_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "chatFirstResponses_providerId_askedAt_idx" ON "chatFirstResponses"("providerId", "askedAt");

-- CreateIndex
CREATE INDEX "chatFirstResponses_conversationId_idx" ON "chatFirstResponses"("conversationId");

-- CreateIndex
CREATE INDEX "chatConversations_providerId_createdAt_idx" ON "chatConversations"("providerId", "createdAt");

-- CreateIndex
CREATE INDEX "chatConversations_providerId_awaitingReplySince_idx" ON "chatConversations"("providerId", "awaitingReplySince");

-- CreateIndex
CREATE INDEX "providerCustomerMessages_conversationId_createdAt_idx" ON "providerCustomerMessages"("conversationId", "createdAt");

-- AddForeignKey
ALTER TABLE "chatFirstResponses" ADD CONSTRAINT "chatFirstResponses_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "chatConversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
