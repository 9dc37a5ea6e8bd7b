CREATE SOURCE telemetry (
    device    TEXT,
    site      TEXT    PATH '$.meta.site',
    temp      DOUBLE,
    humidity  DOUBLE,
    ts        TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
    connector = 'mqtt',
    url       = 'mqtt://mosquitto:1883',
    topic     = 'factory/+/telemetry',
    username  = 'sluice',
    password  = '${file:mqtt_password}'
);

-- Live per-device statistics, one Redis hash per device and window.
CREATE SINK temp_stats WITH (
    connector  = 'redis',
    url        = 'redis://redis:6379/0',
    type       = 'hash',
    key        = 'temp:{site}:{device}:{window_start}',
    latest_key = 'temp:{site}:{device}:latest',
    ttl        = '1h'
) AS
SELECT site, device, window_start, window_end,
       COUNT(*)                AS readings,
       AVG(temp)               AS avg_temp,
       MAX(temp)               AS max_temp,
       PERCENTILE(temp, 0.99)  AS p99_temp
FROM TUMBLE(telemetry, ts, INTERVAL '10' SECOND)
WHERE temp IS NOT NULL
GROUP BY site, device;

-- Event-driven action: call a Lambda function when a device overheats.
CREATE SINK overheat WITH (
    connector       = 'lambda',
    function        = 'arn:aws:lambda:eu-west-1:123456789012:function:notify-oncall',
    invocation_type = 'Event',
    batch_size      = '100',
    linger          = '500ms'
) AS
SELECT device, window_end, MAX(temp) AS max_temp
FROM HOP(telemetry, ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE)
GROUP BY device
HAVING MAX(temp) > 90;

-- A device that goes quiet for 5 minutes closes its session: tell someone.
CREATE SINK went_quiet WITH (connector = 'lambda', function = 'device-offline') AS
SELECT device, window_start AS first_seen, window_end AS silent_since, COUNT(*) AS readings
FROM SESSION(telemetry, ts, INTERVAL '5' MINUTE)
GROUP BY device;
