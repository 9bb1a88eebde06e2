-- Send rate limits in Postgres: the send's append counts the sender's window in the same
-- statement that stores the message (one round trip, no separate DynamoDB update per send).
-- One row per rate key ("send:<userId>", "send:service:<serviceId>"), reused window after window,
-- so the table never grows past one row per sender and needs no expiry.

-- CreateTable
CREATE TABLE "chatSendRates" (
    "key" TEXT NOT NULL,
    "windowStart" BIGINT NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "chatSendRates_pkey" PRIMARY KEY ("key")
);
