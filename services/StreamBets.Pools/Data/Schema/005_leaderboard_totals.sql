-- All-time net winnings per player and channel, kept beside the daily rows so a settled bet's all-time scores read a
-- player's few channels instead of every day of their history (the sums query grew with each day a player had played).
CREATE TABLE leaderboard_totals (
    user_id    uuid   NOT NULL,
    channel    text   NOT NULL,  -- "provider:channelId"
    net_minor  bigint NOT NULL,
    PRIMARY KEY (user_id, channel)
);

INSERT INTO leaderboard_totals (user_id, channel, net_minor)
SELECT user_id, channel, sum(net_minor) FROM leaderboard_entries GROUP BY user_id, channel;
