-- Issue 15, point 5: the demo clock (LOCAL_DEV only). How far each open referral's stored times have been moved
-- back, so that a second advance counts its working days on from where the first left the referral's clock.
-- depends: routing_0001_referrals
CREATE TABLE demo_clock_shifts (
    referral_id  text     PRIMARY KEY REFERENCES referrals (referral_id),
    shifted_by   interval NOT NULL
);
