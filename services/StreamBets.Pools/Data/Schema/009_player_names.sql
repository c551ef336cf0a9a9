-- Players' display names, copied from Users' UserRegistered and UserProfileChanged, so a leaderboard names its players
-- without asking Users on every read. changed_at orders the copies: an older event never replaces a newer name.
CREATE TABLE player_names (
    user_id       uuid        PRIMARY KEY,
    display_name  text        NOT NULL,
    changed_at    timestamptz NOT NULL
);
