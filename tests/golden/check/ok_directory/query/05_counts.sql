CREATE SINK counts WITH (connector = 'stdout') AS
SELECT device, COUNT(*) AS n FROM TUMBLE(s, ts, INTERVAL '1' MINUTE) GROUP BY device;
