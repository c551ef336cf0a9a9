-- Which streamer each channel belongs to. A streamer opens pools only on a channel linked to them, because the
-- streamer who opens a pool also resolves it: an unlinked streamer could otherwise run a pool on someone else's
-- audience and pick its winner. Operators link channels in the console; the platform integrations will link them
-- from the streamer's own sign-in with Twitch, Kick or YouTube. Admins open pools on any channel.
CREATE TABLE channel_owners (
    channel    text        PRIMARY KEY,  -- "twitch:streamer1", as pools.channel
    owner_id   uuid        NOT NULL,
    linked_by  uuid        NOT NULL,     -- the admin who linked it
    linked_at  timestamptz NOT NULL
);

CREATE INDEX channel_owners_by_owner ON channel_owners (owner_id, channel);
