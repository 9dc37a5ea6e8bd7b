-- demo.sql - Sluice with zero infrastructure: generated sensor readings, results on stdout.
--
--   sluice check queries/examples/demo.sql     -- see the plans
--   sluice run   queries/examples/demo.sql     -- run it; it stops after 60000 rows (6 s)
--
-- The datagen source is bounded (rows = 60000): when it has produced them it sends a final
-- watermark, every open window fires, and `sluice run` exits 0. The same seed gives the same
-- rows, so the output is the same on every run.

CREATE SOURCE sensors (
    device    TEXT,        -- one of `keys` generated values
    site      TEXT,
    temp      DOUBLE,
    humidity  DOUBLE,
    ts        TIMESTAMP,   -- event time
    -- events may arrive up to 2 s out of order before their window closes
    WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH (
    connector       = 'datagen',
    rows            = '60000',   -- bounded: stop after this many rows
    rows_per_second = '10000',
    keys            = '10',      -- 10 devices; other TEXT columns take 4 values (4 sites)
    seed            = '42'
);

-- Per device and second: how many readings, and the temperature's mean and range.
CREATE SINK device_stats WITH (connector = 'stdout', format = 'json') AS
SELECT device,
       window_start,
       window_end,
       COUNT(*)   AS readings,
       AVG(temp)  AS avg_temp,
       MIN(temp)  AS min_temp,
       MAX(temp)  AS max_temp
FROM TUMBLE(sensors, ts, INTERVAL '1' SECOND)
GROUP BY device;

-- Per site, over the last 5 seconds, updated every second (a sliding window).
CREATE SINK site_peaks WITH (connector = 'stdout', format = 'json') AS
SELECT site,
       window_end,
       COUNT(*)   AS readings,
       MAX(temp)  AS max_temp
FROM HOP(sensors, ts, INTERVAL '1' SECOND, INTERVAL '5' SECOND)
GROUP BY site;
