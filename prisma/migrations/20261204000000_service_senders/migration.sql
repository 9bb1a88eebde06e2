-- Services: a marketplace backend's SYSTEM messages are sent by neither side.

-- CreateEnum
CREATE TYPE "ChatSender" AS ENUM ('customer', 'provider', 'system');

-- AlterTable
ALTER TABLE "providerCustomerMessages" ALTER COLUMN "senderRole" TYPE "ChatSender" USING ("senderRole"::text::"ChatSender");
