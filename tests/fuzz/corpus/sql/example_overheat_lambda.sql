-- overheat_lambda.sql - call an AWS Lambda function when a machine runs hot.
--
-- A sliding window (HOP) of one minute, moving every 10 seconds, per machine; HAVING keeps
-- only the windows where the machine was above 90 °C at least three times. Each such row
-- goes to the function in a batch: {"sink": "overheat", "records": [{…, "_id": …}, …]}.
-- _id is the same every time a row is sent (after a retry or a restart), so the function
-- can ignore repeats.
--
-- Credentials come from the standard AWS chain (environment, profile, web identity, ECS,
-- EC2); the region from the ARN.
--
--   MQTT_URL=mqtt://mosquitto:1883 sluice run overheat_lambda.sql

CREATE SOURCE machines (
    machine TEXT NOT NULL,
    line    TEXT,
    temp    DOUBLE,
    ts      TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
    connector = 'mqtt',
    url       = '${MQTT_URL:-mqtt://localhost:1883}',
    topic     = 'plant/+/machines'
);

CREATE SINK overheat WITH (
    connector       = 'lambda',
    function        = '${OVERHEAT_FUNCTION:-arn:aws:lambda:eu-west-1:123456789012:function:notify-oncall}',
    invocation_type = 'Event',        -- asynchronous: Lambda queues it
    batch_size      = '100',
    linger          = '500ms'
) AS
SELECT machine, line, window_start, window_end,
       MAX(temp)                            AS max_temp,
       COUNT(*) FILTER (WHERE temp > 90)    AS hot_readings,
       _id
FROM HOP(machines, ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE)
GROUP BY machine, line
HAVING COUNT(*) FILTER (WHERE temp > 90) >= 3;

-- The same source, per event: a reading above 120 °C is an emergency by itself.
CREATE SINK emergency WITH (
    connector = 'lambda',
    function  = '${EMERGENCY_FUNCTION:-arn:aws:lambda:eu-west-1:123456789012:function:page-now}',
    batch_size = '1',
    linger     = '0s'
) AS
SELECT machine, line, temp, ts, _id
FROM machines
WHERE temp > 120;
