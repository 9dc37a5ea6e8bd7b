CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK a WITH (connector = 'stdout') AS
SELECT COUNT(*) AS n FROM TUMBLE(telemetry, ts, INTERVAL '500' MILLISECOND);
CREATE SINK b WITH (connector = 'stdout') AS
SELECT COUNT(*) AS n FROM TUMBLE(telemetry, ts, INTERVAL '500ms');
CREATE SINK c WITH (connector = 'stdout') AS
SELECT COUNT(*) AS n FROM TUMBLE(telemetry, ts, INTERVAL '90s');
CREATE SINK d WITH (connector = 'stdout') AS
SELECT COUNT(*) AS n FROM TUMBLE(telemetry, ts, INTERVAL '1m');
CREATE SINK e WITH (connector = 'stdout') AS
SELECT COUNT(*) AS n FROM TUMBLE(telemetry, ts, INTERVAL '1' HOUR);
CREATE SINK f WITH (connector = 'stdout') AS
SELECT COUNT(*) AS n FROM TUMBLE(telemetry, ts, INTERVAL '1.5' SECOND);
CREATE SINK g WITH (connector = 'stdout') AS
SELECT COUNT(*) AS n FROM TUMBLE(telemetry, ts, INTERVAL '2' minutes);
