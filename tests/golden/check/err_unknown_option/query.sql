CREATE SOURCE m (v TEXT) WITH (connector = 'mqtt', url = 'mqtt://h:1883', topic = 'a', qso = '1');
