CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK early WITH (connector = 'stdout') AS
SELECT device, is_final, COUNT(*) AS n
FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE)
GROUP BY device
EMIT EVERY INTERVAL '5' SECOND;

CREATE SINK late WITH (connector = 'stdout') AS
SELECT device, COUNT(*) AS n
FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE)
GROUP BY device
ALLOWED LATENESS INTERVAL '30s'
EMIT ON WINDOW CLOSE;

CREATE SINK both WITH (connector = 'stdout') AS
SELECT device, COUNT(*) AS n
FROM HOP(telemetry, ts, INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)
GROUP BY device
EMIT EVERY INTERVAL '10s'
ALLOWED LATENESS INTERVAL '1' MINUTE;
