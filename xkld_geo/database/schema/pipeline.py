"""Pipeline tables: the path from the job fair to departure that issue #18 follows.

Recruitment orders (đơn hàng) of licensed companies, the interviews of each order per commune
(counts: interviewed, passed, departed through the order) and training courses (vocational,
language, orientation) per commune. They hold imported work that exists nowhere else, so they are
``operational`` (carried over whole by a rebuild); their demo rows (``is_demo``) are made anew
after the carry-over by :mod:`xkld_geo.warehouse.demo_pipeline`, and entered rows are never touched.
No table holds a person's name: interviews and courses are counts per commune.
"""
from __future__ import annotations

from xkld_geo.database.schema.table import Table

ORDER_STATUSES: dict[str, str] = {"announced": "Đã thông báo", "recruiting": "Đang tuyển",
                                  "interviewed": "Đã phỏng vấn", "departed": "Đã xuất cảnh",
                                  "cancelled": "Đã hủy"}
"""Status of an order, in the order it moves through them; the first three are 'open'."""
OPEN_STATUSES: tuple[str, ...] = ("announced", "recruiting", "interviewed")
COURSE_TYPES: dict[str, str] = {"vocational": "Đào tạo nghề", "language": "Ngoại ngữ",
                                "orientation": "Giáo dục định hướng"}

PIPELINE: tuple[Table, ...] = (
    Table("recruitment_orders", "operational", ddl="""
CREATE TABLE IF NOT EXISTS recruitment_orders (
    order_code VARCHAR PRIMARY KEY,     -- the company's or the department's order number
    licence_no VARCHAR NOT NULL,        -- licensed_companies.licence_no
    province_code VARCHAR,              -- province that announced it (NULL: national)
    market VARCHAR NOT NULL,
    occupation VARCHAR NOT NULL,        -- reporting.profiles.OCCUPATIONS
    places INTEGER NOT NULL CHECK (places >= 0),
    requirements VARCHAR,
    cost_usd DOUBLE,                    -- total cost to the worker, USD
    income_usd DOUBLE,                  -- expected monthly income, USD
    announced_on DATE NOT NULL,
    interview_on DATE,                  -- may lie ahead for an open order
    departure_on DATE,                  -- expected departure
    status VARCHAR NOT NULL CHECK (status IN ('announced', 'recruiting', 'interviewed', 'departed', 'cancelled')),
    is_demo BOOLEAN NOT NULL
)"""),
    Table("order_interviews", "operational", ddl="""
CREATE TABLE IF NOT EXISTS order_interviews (
    order_code VARCHAR NOT NULL,
    commune_code VARCHAR NOT NULL,      -- 2025 commune of the candidates
    interviewed INTEGER NOT NULL CHECK (interviewed >= 0),
    passed INTEGER NOT NULL CHECK (passed >= 0 AND passed <= interviewed),
    departed INTEGER NOT NULL CHECK (departed >= 0 AND departed <= passed),
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (order_code, commune_code)
)"""),
    Table("training_courses", "operational", ddl="""
CREATE TABLE IF NOT EXISTS training_courses (
    course_code VARCHAR NOT NULL,
    commune_code VARCHAR NOT NULL,      -- 2025 commune of the learners
    course_type VARCHAR NOT NULL CHECK (course_type IN ('vocational', 'language', 'orientation')),
    provider VARCHAR NOT NULL,
    market VARCHAR,
    occupation VARCHAR,
    order_code VARCHAR,                 -- the order the course prepares for, if any
    start_on DATE NOT NULL,
    end_on DATE NOT NULL,
    enrolled INTEGER NOT NULL CHECK (enrolled >= 0),
    completed INTEGER NOT NULL CHECK (completed >= 0 AND completed <= enrolled),
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (course_code, commune_code)
)"""),
)
