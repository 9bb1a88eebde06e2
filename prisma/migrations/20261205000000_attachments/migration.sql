-- Attachments: files uploaded straight to object storage, processed, then claimed by a message.

-- CreateEnum
CREATE TYPE "AttachmentStatus" AS ENUM ('PENDING', 'READY', 'REJECTED');

-- CreateTable
CREATE TABLE "chatAttachments" (
    "id" TEXT NOT NULL,
    "conversationId" TEXT NOT NULL,
    "uploaderId" INTEGER NOT NULL,
    "uploaderSide" "ChatSide" NOT NULL,
    "fileName" TEXT NOT NULL,
    "contentType" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "status" "AttachmentStatus" NOT NULL DEFAULT 'PENDING',
    "width" INTEGER,
    "height" INTEGER,
    "hasThumbnail" BOOLEAN NOT NULL DEFAULT false,
    "rejectedReason" TEXT,
    "messageId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "processedAt" TIMESTAMP(3),

    CONSTRAINT "chatAttachments_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "chatAttachments_conversationId_idx" ON "chatAttachments"("conversationId");

-- CreateIndex
CREATE INDEX "chatAttachments_messageId_idx" ON "chatAttachments"("messageId");

-- CreateIndex
CREATE INDEX "chatAttachments_createdAt_idx" ON "chatAttachments"("createdAt");

-- AddForeignKey
ALTER TABLE "chatAttachments" ADD CONSTRAINT "chatAttachments_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "chatConversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "chatAttachments" ADD CONSTRAINT "chatAttachments_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "providerCustomerMessages"("id") ON DELETE SET NULL ON UPDATE CASCADE;
