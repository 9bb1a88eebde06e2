-- Assignment in a provider's shared inbox: which staff user handles a conversation (NULL: nobody).
-- The inbox filters on it after the participant index's range for the provider; no index of its own.

-- AlterTable
ALTER TABLE "chatConversations" ADD COLUMN     "assigneeId" INTEGER;
