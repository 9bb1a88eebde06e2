-- CreateEnum
CREATE TYPE "ChatConversationStatus" AS ENUM ('ACTIVE', 'ARCHIVED', 'BLOCKED', 'ENDED');

-- CreateEnum
CREATE TYPE "ProviderChatMessageType" AS ENUM ('TEXT', 'IMAGE', 'FILE', 'LOCATION', 'VOICE', 'SYSTEM');

-- CreateEnum
CREATE TYPE "MessageStatus" AS ENUM ('SENT', 'DELIVERED', 'READ', 'FAILED');

-- CreateEnum
CREATE TYPE "ChatSide" AS ENUM ('customer', 'provider');

-- CreateTable
CREATE TABLE "chatConversations" (
    "id" TEXT NOT NULL,
    "customerId" INTEGER NOT NULL,
    "providerId" INTEGER NOT NULL,
    "orderId" INTEGER,
    "status" "ChatConversationStatus" NOT NULL DEFAULT 'ACTIVE',
    "activeKey" TEXT,
    "lastSeq" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "lastMessageAt" TIMESTAMP(3),

    CONSTRAINT "chatConversations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "providerCustomerMessages" (
    "id" TEXT NOT NULL,
    "conversationId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "senderId" INTEGER NOT NULL,
    "senderRole" "ChatSide" NOT NULL,
    "receiverId" INTEGER NOT NULL,
    "messageType" "ProviderChatMessageType" NOT NULL DEFAULT 'TEXT',
    "content" TEXT NOT NULL,
    "attachments" JSONB,
    "status" "MessageStatus" NOT NULL DEFAULT 'SENT',
    "readAt" TIMESTAMP(3),
    "deliveredAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "replyToId" TEXT,
    "metadata" JSONB,
    "clientMessageId" TEXT,

    CONSTRAINT "providerCustomerMessages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "chatParticipants" (
    "id" TEXT NOT NULL,
    "conversationId" TEXT NOT NULL,
    "side" "ChatSide" NOT NULL,
    "partyId" INTEGER NOT NULL,
    "unreadCount" INTEGER NOT NULL DEFAULT 0,
    "lastReadSeq" INTEGER NOT NULL DEFAULT 0,
    "archivedAt" TIMESTAMP(3),
    "lastActivityAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "chatParticipants_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "chatConversations_activeKey_key" ON "chatConversations"("activeKey");

-- CreateIndex
CREATE INDEX "chatConversations_customerId_lastMessageAt_idx" ON "chatConversations"("customerId", "lastMessageAt" DESC);

-- CreateIndex
CREATE INDEX "chatConversations_providerId_lastMessageAt_idx" ON "chatConversations"("providerId", "lastMessageAt" DESC);

-- CreateIndex
CREATE INDEX "providerCustomerMessages_replyToId_idx" ON "providerCustomerMessages"("replyToId");

-- CreateIndex
CREATE UNIQUE INDEX "providerCustomerMessages_conversationId_seq_key" ON "providerCustomerMessages"("conversationId", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "providerCustomerMessages_conversationId_senderRole_senderId_key" ON "providerCustomerMessages"("conversationId", "senderRole", "senderId", "clientMessageId");

-- CreateIndex
CREATE INDEX "chatParticipants_side_partyId_lastActivityAt_conversationId_idx" ON "chatParticipants"("side", "partyId", "lastActivityAt" DESC, "conversationId" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "chatParticipants_conversationId_side_key" ON "chatParticipants"("conversationId", "side");

-- AddForeignKey
ALTER TABLE "providerCustomerMessages" ADD CONSTRAINT "providerCustomerMessages_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "chatConversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "providerCustomerMessages" ADD CONSTRAINT "providerCustomerMessages_replyToId_fkey" FOREIGN KEY ("replyToId") REFERENCES "providerCustomerMessages"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "chatParticipants" ADD CONSTRAINT "chatParticipants_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "chatConversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
