-- Push notifications: the device registry and per-user conversation mutes.

-- CreateEnum
CREATE TYPE "PushPlatform" AS ENUM ('apns', 'fcm');

-- CreateTable
CREATE TABLE "chatDevices" (
    "id" TEXT NOT NULL,
    "userId" INTEGER NOT NULL,
    "side" "ChatSide" NOT NULL,
    "partyId" INTEGER NOT NULL,
    "platform" "PushPlatform" NOT NULL,
    "token" TEXT NOT NULL,
    "appId" TEXT,
    "locale" TEXT,
    "endpointArn" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "lastPushedAt" TIMESTAMP(3),

    CONSTRAINT "chatDevices_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "chatConversationMutes" (
    "conversationId" TEXT NOT NULL,
    "userId" INTEGER NOT NULL,
    "mutedUntil" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "chatConversationMutes_pkey" PRIMARY KEY ("conversationId","userId")
);

-- CreateIndex
CREATE UNIQUE INDEX "chatDevices_platform_token_key" ON "chatDevices"("platform", "token");

-- CreateIndex
CREATE INDEX "chatDevices_side_partyId_idx" ON "chatDevices"("side", "partyId");

-- CreateIndex
CREATE INDEX "chatDevices_userId_createdAt_idx" ON "chatDevices"("userId", "createdAt");

-- AddForeignKey
ALTER TABLE "chatConversationMutes" ADD CONSTRAINT "chatConversationMutes_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "chatConversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
