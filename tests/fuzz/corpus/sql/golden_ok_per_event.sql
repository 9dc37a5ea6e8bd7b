CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

-- one row per hot reading
CREATE SINK hot WITH (connector = 'stdout', format = 'json') AS
SELECT device, temp, temp * 1.8 + 32 AS temp_f
FROM telemetry
WHERE temp > 30;
