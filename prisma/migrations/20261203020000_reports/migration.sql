-- Reports of messages and the admins' review queue.

-- CreateEnum
CREATE TYPE "ReportReason" AS ENUM ('spam', 'abuse', 'scam', 'off_platform', 'other');

-- CreateEnum
CREATE TYPE "ReportStatus" AS ENUM ('OPEN', 'RESOLVED');

-- CreateEnum
CREATE TYPE "ReportResolution" AS ENUM ('dismiss', 'delete_message', 'block_conversation', 'end_conversation');

-- CreateTable
CREATE TABLE "chatReports" (
    "id" TEXT NOT NULL,
    "conversationId" TEXT NOT NULL,
    "messageId" TEXT NOT NULL,
    "reporterId" INTEGER,
    "reason" "ReportReason" NOT NULL,
    "note" TEXT,
    "status" "ReportStatus" NOT NULL DEFAULT 'OPEN',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolvedAt" TIMESTAMP(3),
    "resolvedBy" INTEGER,
    "resolution" "ReportResolution",
    "resolutionNote" TEXT,

    CONSTRAINT "chatReports_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "chatReports_messageId_reporterId_key" ON "chatReports"("messageId", "reporterId");

-- CreateIndex
CREATE INDEX "chatReports_status_createdAt_id_idx" ON "chatReports"("status", "createdAt", "id");

-- CreateIndex
CREATE INDEX "chatReports_conversationId_idx" ON "chatReports"("conversationId");

-- AddForeignKey
ALTER TABLE "chatReports" ADD CONSTRAINT "chatReports_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "chatConversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
