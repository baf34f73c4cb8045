"""The monthly problem counts (contract breaches / illegal stay, fraud reports) derived from the
register of cases where the register has data.

THE rule: a province uses the register from the month of its first recorded case on (it has
started keeping the register then). For every commune of such a province, from that month on, the
figures are counted from the cases received in the month (kinds ``contract_breach`` and
``illegal_stay`` as breaches, ``fraud`` as fraud reports; a month without a case counts 0). For
provinces without any case, and for the months before a province's first case, the imported
monthly totals of ``programme_monthly`` stay as they were. Loans, amounts and returnees always come
from ``programme_monthly``.
"""
from __future__ import annotations

RULE = ("Vi phạm hợp đồng / cư trú bất hợp pháp và phản ánh lừa đảo được đếm từ sổ vụ việc kể từ tháng tỉnh "
        "ghi vụ việc đầu tiên; các tháng trước đó và các tỉnh chưa dùng sổ vụ việc giữ số tổng hợp đã nhập.")
"""The rule in Vietnamese, for the pages."""

MONTHLY_SQL = """
    WITH started AS (
        SELECT c.province_code, min(date_trunc('month', k.opened_on)) AS since
        FROM cases k JOIN v_communes c ON c.commune_code = k.commune_code GROUP BY 1
    ), counted AS (
        SELECT CAST(date_trunc('month', opened_on) AS DATE) AS month, commune_code,
               count(*) FILTER (WHERE kind IN ('contract_breach', 'illegal_stay')) AS breaches,
               count(*) FILTER (WHERE kind = 'fraud') AS fraud_reports
        FROM cases GROUP BY ALL
    ), keys AS (
        SELECT month, commune_code FROM programme_monthly UNION SELECT month, commune_code FROM counted
    )
    SELECT k.month, k.commune_code, COALESCE(m.loans, 0) AS loans,
           COALESCE(m.loan_amount_mvnd, 0) AS loan_amount_mvnd, COALESCE(m.returnees, 0) AS returnees,
           CASE WHEN s.since IS NOT NULL AND k.month >= s.since THEN COALESCE(n.breaches, 0)
                ELSE COALESCE(m.breaches, 0) END AS breaches,
           CASE WHEN s.since IS NOT NULL AND k.month >= s.since THEN COALESCE(n.fraud_reports, 0)
                ELSE COALESCE(m.fraud_reports, 0) END AS fraud_reports,
           s.since IS NOT NULL AND k.month >= s.since AS from_register
    FROM keys k JOIN v_communes c ON c.commune_code = k.commune_code
    LEFT JOIN programme_monthly m ON m.month = k.month AND m.commune_code = k.commune_code
    LEFT JOIN counted n ON n.month = k.month AND n.commune_code = k.commune_code
    LEFT JOIN started s ON s.province_code = c.province_code
"""
"""One row per commune-month: programme_monthly with the problem counts taken by :data:`RULE`.
Used as a sub-query (``FROM (MONTHLY_SQL) m``) by :func:`xkld_geo.views.problems.problems`."""
