CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK by_alias WITH (connector = 'stdout') AS
SELECT UPPER(site) AS big_site, COUNT(*) AS n
FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE)
GROUP BY big_site;

CREATE SINK by_position WITH (connector = 'stdout') AS
SELECT device, site, COUNT(*) AS n
FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE)
GROUP BY 2, 1;

CREATE SINK by_expression WITH (connector = 'stdout') AS
SELECT SPLIT_PART(_topic, '/', 2) AS dev, LOWER(SPLIT_PART(_topic, '/', 2)) AS dev_lc, COUNT(*) AS n
FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE)
GROUP BY SPLIT_PART(_topic, '/', 2), window_start, window_end;
