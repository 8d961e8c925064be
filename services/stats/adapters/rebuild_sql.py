"""SQL of the rebuild: staging tables (temporary ones of the rebuild's session), and set-based statements that fold
them into projections identical to what the live, event-by-event updates in `projections.py` arrive at."""

SHADOW = "stats_rebuild"
PROJECTION_TABLES = (
    "concern_facts",
    "erasures",
    "concern_counts",
    "concern_category_counts",
    "referrals",
    "deliveries",
    "processed_events",
)
"""Swapped in together; processed_events (the inbox) goes with them so live updates resume exactly."""

STAGING = {
    "s_reported": "seq bigint, concern_id text, organisation_id text, department_id text, municipality_code text, "
    "subject_key text, severity text, categories text[], reported_at timestamptz, day date",
    "s_erased": "seq bigint, concern_id text, erased_at timestamptz",
    "s_created": "seq bigint, referral_id text, concern_id text, target text, recipient_id text, department_id text, "
    "municipality_code text, categories text[], severity text, urgent boolean, created_at timestamptz, day date",
    "s_status": "seq bigint, referral_id text, concern_id text, target text, department_id text, "
    "municipality_code text, to_status text, changed_at timestamptz, acknowledges boolean, completes boolean, "
    "outcome text",
    "s_clock": "seq bigint, kind text, referral_id text, concern_id text, target text, department_id text, "
    "municipality_code text",
    "s_delivery": "seq bigint, delivery_id text, channel text, municipality_code text, day date, "
    "delivered_at timestamptz, latency_ms integer, failed integer, final boolean",
    "s_events": "event_id text",
}

FOLD = [
    """INSERT INTO erasures SELECT DISTINCT ON (concern_id) concern_id, erased_at FROM s_erased
       ORDER BY concern_id, seq""",
    # The repeat flag is computed on the way in (one pass, no UPDATE that rewrites every repeated row).
    """INSERT INTO concern_facts (concern_id, organisation_id, department_id, municipality_code, subject_key, severity,
                                  categories, reported_at, day, erased, repeated)
       WITH facts AS (
           SELECT DISTINCT ON (r.concern_id) r.concern_id, r.organisation_id, r.department_id, r.municipality_code,
                  CASE WHEN e.concern_id IS NULL THEN r.subject_key END AS subject_key, r.severity, r.categories,
                  r.reported_at, r.day, e.concern_id IS NOT NULL AS erased
             FROM s_reported r LEFT JOIN erasures e ON e.concern_id = r.concern_id
            ORDER BY r.concern_id, r.seq)
       SELECT *, subject_key IS NOT NULL
                 AND count(*) OVER (PARTITION BY subject_key ORDER BY reported_at
                                    RANGE BETWEEN $1::interval PRECEDING AND CURRENT ROW) >= $2
         FROM facts""",
    """INSERT INTO concern_counts SELECT day, department_id, municipality_code, severity, count(*)
         FROM concern_facts GROUP BY 1, 2, 3, 4""",
    """INSERT INTO concern_category_counts SELECT day, department_id, municipality_code, category, severity, count(*)
         FROM concern_facts, unnest(categories) category GROUP BY 1, 2, 3, 4, 5""",
    """INSERT INTO referrals
       WITH seen AS (
           SELECT seq, referral_id, concern_id, target, department_id, municipality_code FROM s_created
           UNION ALL SELECT seq, referral_id, concern_id, target, department_id, municipality_code FROM s_status
           UNION ALL SELECT seq, referral_id, concern_id, target, department_id, municipality_code FROM s_clock),
       first AS (SELECT DISTINCT ON (referral_id) * FROM seen ORDER BY referral_id, seq),
       created AS (SELECT DISTINCT ON (referral_id) * FROM s_created ORDER BY referral_id, seq),
       latest AS (SELECT DISTINCT ON (referral_id) referral_id, to_status, changed_at FROM s_status
                   ORDER BY referral_id, changed_at DESC, seq DESC),
       times AS (SELECT referral_id, min(changed_at) FILTER (WHERE acknowledges) AS acknowledged_at,
                        min(changed_at) FILTER (WHERE completes) AS completed_at
                   FROM s_status GROUP BY referral_id),
       outcomes AS (SELECT DISTINCT ON (referral_id) referral_id, outcome FROM s_status WHERE completes
                     ORDER BY referral_id, changed_at, seq),
       clocks AS (SELECT referral_id, count(*) FILTER (WHERE kind = 'sla_breaches') AS breaches,
                         count(*) FILTER (WHERE kind = 'escalations') AS escalations
                    FROM s_clock GROUP BY referral_id)
       SELECT f.referral_id, f.concern_id, f.target, c.recipient_id, f.department_id, f.municipality_code,
              c.categories, c.severity, c.urgent, c.created_at, c.day, COALESCE(l.to_status, 'requested'),
              l.changed_at, t.acknowledged_at, t.completed_at, o.outcome,
              COALESCE(k.breaches, 0), COALESCE(k.escalations, 0)
         FROM first f
         LEFT JOIN created c USING (referral_id) LEFT JOIN latest l USING (referral_id)
         LEFT JOIN times t USING (referral_id) LEFT JOIN outcomes o USING (referral_id)
         LEFT JOIN clocks k USING (referral_id)""",
    """INSERT INTO deliveries
       WITH first AS (SELECT DISTINCT ON (delivery_id) delivery_id, channel FROM s_delivery ORDER BY delivery_id, seq),
       place AS (SELECT DISTINCT ON (delivery_id) delivery_id, municipality_code FROM s_delivery
                  WHERE municipality_code IS NOT NULL ORDER BY delivery_id, seq),
       success AS (SELECT DISTINCT ON (delivery_id) delivery_id, delivered_at, latency_ms FROM s_delivery
                    WHERE delivered_at IS NOT NULL ORDER BY delivery_id, delivered_at, seq),
       totals AS (SELECT delivery_id, min(day) AS day, sum(failed) AS failed, bool_or(final) AS final
                    FROM s_delivery GROUP BY delivery_id)
       SELECT f.delivery_id, f.channel, p.municipality_code, t.day, s.delivered_at, s.latency_ms, t.failed, t.final
         FROM first f JOIN totals t USING (delivery_id) LEFT JOIN place p USING (delivery_id)
         LEFT JOIN success s USING (delivery_id)""",
    """INSERT INTO processed_events (consumer, event_id) SELECT $1, event_id FROM s_events""",
]
"""In order; each entry's parameters are given by the caller (see rebuild.fold)."""

SHADOW_INDEXES = """
SELECT c.relname AS table_name, pg_get_indexdef(i.indexrelid) AS index_def, con.conname AS constraint_name,
       pg_get_constraintdef(con.oid) AS constraint_def
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = c.oid AND con.contype IN ('p', 'u')
 WHERE n.nspname = 'public' AND c.relname = ANY($1::text[])
 ORDER BY con.conname IS NULL, c.relname
"""
"""The live tables' indexes and key constraints: the shadow tables get them once loaded (cheaper than per row)."""
