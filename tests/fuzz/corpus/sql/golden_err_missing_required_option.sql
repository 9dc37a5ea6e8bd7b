CREATE SOURCE m (v TEXT)
WITH (connector = 'mqtt', topic = 'a/b');
