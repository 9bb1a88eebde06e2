-- AlterTable
ALTER TABLE "providerCustomerMessages" ADD COLUMN     "deletedAt" TIMESTAMP(3),
ADD COLUMN     "editedAt" TIMESTAMP(3),
ADD COLUMN     "reactions" JSONB NOT NULL DEFAULT '[]';

-- CreateTable
CREATE TABLE "chatChanges" (
    "id" BIGSERIAL NOT NULL,
    "txid" BIGINT NOT NULL,
    "conversationId" TEXT NOT NULL,
    "customerId" INTEGER NOT NULL,
    "providerId" INTEGER NOT NULL,
    "side" "ChatSide",
    "userId" INTEGER,
    "type" TEXT NOT NULL,
    "messageId" TEXT,
    "data" JSONB NOT NULL DEFAULT '{}',
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "publishedAt" TIMESTAMP(3),
    "republishCount" INTEGER NOT NULL DEFAULT 0,
    "republishAt" TIMESTAMP(3),

    CONSTRAINT "chatChanges_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "chatChanges_customerId_txid_id_idx" ON "chatChanges"("customerId", "txid", "id");

-- CreateIndex
CREATE INDEX "chatChanges_providerId_txid_id_idx" ON "chatChanges"("providerId", "txid", "id");

-- CreateIndex
CREATE INDEX "chatChanges_publishedAt_id_idx" ON "chatChanges"("publishedAt", "id");

-- CreateIndex
CREATE INDEX "chatChanges_at_idx" ON "chatChanges"("at");

-- CreateIndex
CREATE INDEX "chatChanges_conversationId_idx" ON "chatChanges"("conversationId");

-- AddForeignKey
ALTER TABLE "chatChanges" ADD CONSTRAINT "chatChanges_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "chatConversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
