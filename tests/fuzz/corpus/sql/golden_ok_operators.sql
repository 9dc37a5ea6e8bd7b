CREATE SOURCE e (
    s TEXT,
    n BIGINT,
    d DOUBLE,
    b BOOLEAN,
    ts TIMESTAMP
) WITH (connector = 'datagen');

CREATE SINK ops WITH (connector = 'stdout') AS
SELECT n + 1 AS a, n * d AS b, n / 2 AS c, n % 3 AS m, d - n AS e, -n AS neg,
       s || '-' || n AS cat, n || b AS cat2,
       n = d AS eq, s <> 'x' AS ne, n != 2 AS ne2, n < 1 AS lt, d >= 2.5 AS ge,
       b AND n > 0 OR NOT b AS logic,
       s IS NULL AS isn, d IS NOT NULL AS isnn,
       n IN (1, 2, 3) AS inl, d NOT IN (1, 2.5) AS nin,
       n BETWEEN 1 AND 10 AS bt, d NOT BETWEEN 0 AND 1 AS nbt,
       s LIKE 'dev%' AS lk, s NOT LIKE '%test' AS nlk,
       CASE WHEN n > 10 THEN 'big' WHEN n > 5 THEN 'mid' ELSE 'small' END AS size,
       CASE n WHEN 1 THEN 1.5 WHEN 2 THEN 2 END AS simple,
       CAST(n AS TEXT) AS nt, CAST(s AS DOUBLE) AS sd, CAST(d AS BIGINT) AS db,
       CAST(b AS BIGINT) AS bi, CAST(ts AS BIGINT) AS ms, CAST(NULL AS TEXT) AS nul,
       NULL AS untyped, TRUE AS yes, 1e3 AS sci, .5 AS half
FROM e
WHERE (n > 0 OR d > 0) AND s IS NOT NULL;
