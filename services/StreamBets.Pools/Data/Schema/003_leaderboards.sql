-- Net winnings (payout - stake) per player, per channel and UTC day: the source the Redis leaderboards are rebuilt from.
-- Global boards sum the channels; week and all-time boards sum the days. Written by the BetSettled handler in its inbox transaction.
CREATE TABLE leaderboard_entries (
    channel    text   NOT NULL,  -- "provider:channelId"
    day        date   NOT NULL,
    user_id    uuid   NOT NULL,
    net_minor  bigint NOT NULL,
    PRIMARY KEY (channel, day, user_id)
);

CREATE INDEX leaderboard_entries_by_user ON leaderboard_entries (user_id, day);
CREATE INDEX leaderboard_entries_by_day ON leaderboard_entries (day);
