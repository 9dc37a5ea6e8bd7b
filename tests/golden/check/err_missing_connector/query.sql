CREATE SOURCE m (v TEXT) WITH (path = 'x.jsonl');
