-- iot_redis.sql - MQTT telemetry from a factory, windowed per device, into Redis hashes.
--
-- Devices publish JSON like
--   {"device": "press-7", "meta": {"site": "lyon"}, "temp": 71.5, "humidity": 40.2,
--    "ts": "2024-05-01T12:00:00.250Z"}
-- to factory/<site>/telemetry. Dashboards read one Redis hash per device and 10-second
-- window (temp:<site>:<device>:<window_start>) and the latest one (…:latest).
--
--   MQTT_URL=mqtt://mosquitto:1883 REDIS_URL=redis://redis:6379/0 sluice run iot_redis.sql
--
-- The broker password is a secret: in a container, mount it as a file and write
--   password = '${file:/run/secrets/mqtt_password}'
-- (`sluice check` then prints it as <secret>). Here it comes from the environment, empty by
-- default, so that the file checks anywhere.

CREATE SOURCE telemetry (
    device    TEXT       NOT NULL,              -- events without a device are rejected
    site      TEXT       PATH '$.meta.site',    -- a nested field
    temp      DOUBLE,
    humidity  DOUBLE,
    ts        TIMESTAMP,                        -- RFC 3339 text or epoch numbers
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
    connector    = 'mqtt',
    url          = '${MQTT_URL:-mqtt://localhost:1883}',
    topic        = 'factory/+/telemetry',
    qos          = '1',
    username     = '${MQTT_USER:-sluice}',
    password     = '${MQTT_PASSWORD:-}',
    dead_letter  = '${DEAD_LETTER:-/tmp/sluice-telemetry-rejected.jsonl}'
);

-- Per device and 10 s window: count, mean, max and 99th percentile of the temperature.
CREATE SINK temp_stats WITH (
    connector  = 'redis',
    url        = '${REDIS_URL:-redis://localhost:6379/0}',
    type       = 'hash',
    key        = 'temp:{site}:{device}:{window_start}',
    latest_key = 'temp:{site}:{device}:latest',
    ttl        = '1h'
) AS
SELECT site, device, window_start, window_end,
       COUNT(*)                AS readings,
       AVG(temp)               AS avg_temp,
       MAX(temp)               AS max_temp,
       PERCENTILE(temp, 0.99)  AS p99_temp,
       AVG(humidity)           AS avg_humidity
FROM TUMBLE(telemetry, ts, INTERVAL '10' SECOND)
WHERE temp IS NOT NULL
GROUP BY site, device;

-- Per site and minute, published for live subscribers (PUBLISH site_minutes:<site> <json>).
CREATE SINK site_minutes WITH (
    connector = 'redis',
    url       = '${REDIS_URL:-redis://localhost:6379/0}',
    type      = 'publish',
    key       = 'site_minutes:{site}'
) AS
SELECT site, window_start,
       COUNT(DISTINCT device)                      AS devices,
       COUNT(*) FILTER (WHERE temp > 80)           AS hot_readings
FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE)
GROUP BY site;
