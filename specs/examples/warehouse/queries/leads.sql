-- The people to route, straight from the warehouse's exports: nothing about them is committed, only this query.
--
-- Each nightly export repeats a person whose enrichment changed (the head count was revised, the trial ended,
-- the email came back with capitals): keep each person's newest row. And leave out the accounts that already
-- pay: they belong to customer success, not to outbound. A CSV would need both done by hand, every month.
WITH latest AS (
    SELECT *
    FROM read_parquet('exports/signups-*.parquet')
    QUALIFY row_number() OVER (PARTITION BY lower(trim(email)) ORDER BY exported_at DESC) = 1
)
SELECT
    lower(trim(email)) AS email,
    first_name,
    last_name,
    company AS company_name,
    employees,
    hq_country,
    trial_active
FROM latest
WHERE NOT EXISTS (
    SELECT 1
    FROM read_parquet('exports/customers.parquet') AS customer
    WHERE customer.domain = split_part(lower(trim(latest.email)), '@', 2)
)
ORDER BY email
