-- Block, unblock and end: who blocked a BLOCKED conversation.

-- CreateEnum
CREATE TYPE "ChatActor" AS ENUM ('customer', 'provider', 'admin', 'service');

-- AlterTable
ALTER TABLE "chatConversations" ADD COLUMN     "blockedBy" "ChatActor";
