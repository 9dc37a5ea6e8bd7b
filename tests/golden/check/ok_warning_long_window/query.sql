CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK daily WITH (connector = 'stdout') AS
SELECT device, COUNT(*) AS n FROM TUMBLE(telemetry, ts, INTERVAL '1' DAY) GROUP BY device;
CREATE SINK late WITH (connector = 'stdout') AS
SELECT device, COUNT(*) AS n FROM HOP(telemetry, ts, INTERVAL '10' MINUTE, INTERVAL '1' HOUR)
GROUP BY device ALLOWED LATENESS INTERVAL '1s';
CREATE SINK fine WITH (connector = 'stdout') AS
SELECT device, COUNT(*) AS n FROM TUMBLE(telemetry, ts, INTERVAL '1' HOUR) GROUP BY device;
