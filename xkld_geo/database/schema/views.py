"""The views: the stable reporting contract (``v_attainment``, ``v_departures_monthly``,
``v_departures_monthly_old``: columns only ever added) and the helper view ``v_communes``.

They are made by :func:`xkld_geo.database.schema.tables.create_all`; a change to one is a migration step
that runs :data:`VIEWS` again (views are derived: they hold no rows).
"""
from __future__ import annotations

VIEWS = """CREATE OR REPLACE VIEW v_communes AS
SELECT code AS commune_code, name AS commune_name, unit_type, parent_code AS province_code,
       population, area_km2
FROM admin_units WHERE era = '2025' AND level = 'commune';

CREATE OR REPLACE VIEW v_departures_monthly AS
SELECT month, commune_code AS unit_code, market, sex, channel, priority_group, departures, is_demo
FROM departures;

CREATE OR REPLACE VIEW v_attainment AS
WITH yearly AS (
    SELECT CAST(year(month) AS INTEGER) AS year, commune_code, SUM(departures) AS departures,
           bool_or(is_demo) AS is_demo
    FROM departures GROUP BY ALL
), commune_rows AS (
    SELECT q.year, c.commune_code AS unit_code, 'commune' AS unit_level, c.commune_name AS unit_name,
           c.province_code, q.quota, COALESCE(y.departures, 0) AS departures,
           q.is_demo OR COALESCE(y.is_demo, FALSE) AS is_demo
    FROM quotas q
    JOIN v_communes c ON c.commune_code = q.unit_code
    LEFT JOIN yearly y ON y.year = q.year AND y.commune_code = q.unit_code
    WHERE q.unit_level = 'commune'
), province_rows AS (
    SELECT r.year, r.province_code AS unit_code, 'province' AS unit_level, p.name AS unit_name,
           r.province_code, SUM(r.quota) AS quota, SUM(r.departures) AS departures,
           bool_or(r.is_demo) AS is_demo
    FROM commune_rows r
    JOIN admin_units p ON p.era = '2025' AND p.level = 'province' AND p.code = r.province_code
    GROUP BY ALL
)
SELECT year, unit_code, unit_level, unit_name, province_code,
       CAST(quota AS BIGINT) AS quota, CAST(departures AS BIGINT) AS departures,
       CASE WHEN quota > 0 THEN round(100.0 * departures / quota, 1) END AS attainment_pct,
       is_demo
FROM (SELECT * FROM commune_rows UNION ALL SELECT * FROM province_rows);

CREATE OR REPLACE VIEW v_departures_monthly_old AS
SELECT d.month, d.old_commune_code AS unit_code, c.old_district_code AS district_code,
       c.old_province_code AS province_code, d.market, d.sex, d.channel, d.priority_group,
       d.departures, d.is_demo
FROM departures_old d
LEFT JOIN (SELECT DISTINCT old_code, old_district_code, old_province_code FROM crosswalk) c
       ON c.old_code = d.old_commune_code;
"""
