-- Issue 16: underretninger (barnets lov) to the municipality's children and youth entry, and their clock: the
-- municipality confirms receipt within 6 working days, or the clocks send referral.sla_breached.v1 (underretning_receipt).
-- depends: routing_0001_referrals
ALTER TABLE referrals
    ADD COLUMN underretning        boolean     NOT NULL DEFAULT false,
    ADD COLUMN receipt_due_at      timestamptz,
    ADD COLUMN receipt_breached_at timestamptz;
-- The scheduler's work queue: underretninger whose receipt is unconfirmed and not yet reported overdue.
CREATE INDEX referrals_receipt_due ON referrals (receipt_due_at)
    WHERE underretning AND status = 'requested' AND receipt_breached_at IS NULL;
