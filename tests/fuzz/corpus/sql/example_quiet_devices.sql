-- quiet_devices.sql - tell someone when a device stops talking.
--
-- A SESSION window per device stays open while events keep coming less than 5 minutes
-- apart; when a device has been silent for 5 minutes its session closes and one row goes to
-- the Lambda function: when the device was first seen, when it went silent, how much it sent.
-- Sessions are cut every hour (max_duration), so a chatty device still reports hourly.
--
--   MQTT_URL=mqtt://mosquitto:1883 sluice run quiet_devices.sql

CREATE SOURCE heartbeats (
    device   TEXT,
    firmware TEXT,
    battery  DOUBLE,
    ts       TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '10' SECOND
) WITH (
    connector    = 'mqtt',
    url          = '${MQTT_URL:-mqtt://localhost:1883}',
    topic        = 'devices/+/heartbeat',
    idle_timeout = '1m'     -- when every device is quiet, time still moves on
);

CREATE SINK went_quiet WITH (
    connector = 'lambda',
    function  = '${QUIET_FUNCTION:-arn:aws:lambda:us-east-1:123456789012:function:device-offline}'
) AS
SELECT COALESCE(device, SPLIT_PART(_topic, '/', 2))   AS device,
       window_start                                    AS first_seen,
       window_end                                      AS silent_since,
       COUNT(*)                                        AS heartbeats,
       LAST_VALUE(battery)                             AS last_battery,
       LAST_VALUE(firmware)                            AS firmware
FROM SESSION(heartbeats, ts, INTERVAL '5' MINUTE, INTERVAL '1' HOUR)
GROUP BY COALESCE(device, SPLIT_PART(_topic, '/', 2));
