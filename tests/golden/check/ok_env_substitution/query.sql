CREATE SOURCE s (device TEXT) WITH (
    connector = 'file',
    path      = '${DATA_DIR}/in-${SHARD:-0}.jsonl',
    rate      = '${RATE:-100}'
);
CREATE SINK out WITH (connector = 'file', path = '${OUT:-out.jsonl}') AS
SELECT device, '${LABEL}' AS label, 'literal $${NOT_A_VAR}' AS raw
FROM s
WHERE device <> '${SKIP:-none}';
