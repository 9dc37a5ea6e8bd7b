CREATE SINK counts WITH (connector = 'stdout') AS
SELECT device, COUNT(*) AS n FROM TUMBLE(s, ts, INTERVAL '1' MINUTE) GROUP BY device;
CREATE SOURCE s (device TEXT, temp DOUBLE, ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'datagen')
-- the last statement of a file needs no ';'
CREATE SINK hot WITH (connector = 'stdout') AS SELECT device FROM s WHERE temp > 50
