CREATE SOURCE m (k TEXT, v BIGINT, x DOUBLE, ts TIMESTAMP, WATERMARK FOR ts AS ts)
WITH (connector = 'datagen');
CREATE SINK stats WITH (connector = 'stdout') AS
SELECT k, SUM(v) AS sv, SUM(x) AS sx, MIN(k) AS mk, MAX(ts) AS mts, AVG(v) AS av,
       STDDEV_POP(x) AS sp, STDDEV_SAMP(x) AS ss, VAR_POP(v) AS vp, VAR_SAMP(v) AS vs,
       FIRST_VALUE(k) AS fk, LAST_VALUE(x) AS lx, RATE(v) AS rv, COUNT(x) AS cx
FROM TUMBLE(m, ts, INTERVAL '1' MINUTE)
GROUP BY k;
