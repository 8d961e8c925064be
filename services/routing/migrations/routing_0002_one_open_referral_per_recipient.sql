-- Issue 15, point 3: a recipient never has two open referrals of one concern. A re-route to a recipient with one
-- open takes it over (domain/moves.py) and the moves of one concern lock its referrals together; this index is
-- the database's guarantee behind both. A database holding such pairs from before must have the later of each
-- cancelled by an admin (POST /v1/referrals/{id}/transitions, {"to": "cancelled"}) before this applies.
-- depends: routing_0001_referrals
CREATE UNIQUE INDEX referrals_one_open_per_recipient ON referrals (concern_id, recipient_id)
    WHERE status IN ('requested', 'received', 'accepted', 'in_progress', 'on_hold');
