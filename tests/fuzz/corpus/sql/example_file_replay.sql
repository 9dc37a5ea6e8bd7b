-- file_replay.sql - replay recorded events from a JSON Lines file into another file.
--
-- A `file` source without `follow` is finite: at its end it sends a final watermark, every
-- open window fires, and `sluice run` exits 0. The output is the same on every run and at
-- any --workers count: this is how recorded data is tested, backfilled and benchmarked.
--
--   EVENTS=recorded.jsonl OUT_DIR=/tmp sluice run --workers 4 file_replay.sql
--
-- A recorded line looks like
--   {"device": "d-17", "kind": "reading", "value": 12.5, "ts": "2024-05-01T12:00:00Z"}

CREATE SOURCE recorded (
    device  TEXT NOT NULL,
    kind    TEXT,
    value   DOUBLE,
    ts      TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
    connector   = 'file',
    path        = '${EVENTS:-events.jsonl}',
    dead_letter = '${OUT_DIR:-.}/rejected.jsonl'  -- why each bad line was refused
);

-- Per device and minute.
CREATE SINK per_minute WITH (connector = 'file', path = '${OUT_DIR:-.}/per_minute.jsonl') AS
SELECT device, window_start, window_end,
       COUNT(*)                           AS events,
       SUM(value)                         AS total,
       MIN(value)                         AS lowest,
       MAX(value)                         AS highest,
       FORMAT_TIMESTAMP(window_start)     AS minute      -- readable time next to epoch ms
FROM TUMBLE(recorded, ts, INTERVAL '1' MINUTE)
WHERE kind = 'reading'
GROUP BY device;

-- Per event: alarms, copied as they are, in file order.
CREATE SINK alarms WITH (connector = 'file', path = '${OUT_DIR:-.}/alarms.jsonl') AS
SELECT device, ts, UPPER(kind) AS kind, value, _offset AS line_offset
FROM recorded
WHERE kind LIKE 'alarm%';
