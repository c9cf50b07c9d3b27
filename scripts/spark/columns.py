"""columns.py - the reference output's 19 columns, in order (QUALITY_SEMANTICS.md).

Shared by quality.py (what Spark writes) and compare.py (what is compared).
"""

OUTPUT_COLUMNS = [
    "transactionId", "userId", "amount", "currency", "timestamp", "metadata",
    "transactionId_completeness", "userId_completeness", "amount_completeness",
    "currency_completeness", "timestamp_completeness",
    "amount_validity", "currency_validity", "timestamp_validity",
    "avg_transaction_amount", "consistency_check", "uniqueness",
    "checks_passed", "quality_score",
]
