CREATE SOURCE e (
    s TEXT,
    n BIGINT,
    d DOUBLE,
    b BOOLEAN,
    ts TIMESTAMP
) WITH (connector = 'datagen');

CREATE SINK fns WITH (connector = 'stdout') AS
SELECT ABS(n), ABS(d), ROUND(d), ROUND(d, 2), FLOOR(d), CEIL(n), SQRT(n), LN(d), EXP(1),
       POWER(n, 2), LEAST(n, d, 3), GREATEST(s, 'm'), COALESCE(s, 'none'), NULLIF(n, 0),
       LOWER(s), UPPER(s), LENGTH(s), SUBSTR(s, 2), SUBSTR(s, 2, 3), TRIM(s),
       CONCAT(s, n, d, b), SPLIT_PART(_topic, '/', 2), REGEXP_MATCH(s, '^dev-[0-9]+$'),
       TO_TIMESTAMP(n), TO_TIMESTAMP(d), TO_TIMESTAMP('2024-05-01T12:00:00Z'),
       FORMAT_TIMESTAMP(ts), DATE_TRUNC('hour', ts), NOW()
FROM e;
