"""The notify service's own metrics: deliveries by outcome, attempts, latency, backlog per subscription."""

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter(
    "notify_deliveries_total",
    "Delivery attempts by what they came to: delivered, retry, dead (gave up), cancelled.",
    ["channel", "outcome"],
)
ATTEMPTS = Counter(
    "notify_delivery_attempts_total", "Delivery attempts by result (ok or the reason).", ["channel", "result"]
)
WEBHOOK_ATTEMPTS = Counter(
    "notify_webhook_attempts_total",
    "Webhook delivery attempts by subscription id and result (ok or the reason): a receiver failing on its own.",
    ["subscription", "result"],
)
ATTEMPT_DURATION = Histogram(
    "notify_delivery_attempt_seconds",
    "Time one attempt took (HTTP POST or SMTP send).",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LATENCY = Histogram(
    "notify_delivery_latency_seconds",
    "From the event's time to its successful delivery, retries included.",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
)
BACKLOG = Gauge(
    "notify_delivery_backlog",
    "Deliveries waiting (pending), per subscription for webhooks and in total for e-mail.",
    ["channel", "target"],
)
SUBSCRIPTIONS_DISABLED = Counter(
    "notify_subscriptions_disabled_total", "Subscriptions notify disabled: gone (410) or failing for days.", ["reason"]
)
