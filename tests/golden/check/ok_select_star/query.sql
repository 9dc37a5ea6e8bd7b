CREATE SOURCE raw (a BIGINT, b TEXT) WITH (connector = 'file', path = 'in.jsonl');
CREATE SINK copy WITH (connector = 'file', path = 'out.jsonl') AS SELECT * FROM raw;
