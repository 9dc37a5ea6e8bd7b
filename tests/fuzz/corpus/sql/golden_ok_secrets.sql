CREATE SOURCE k (v TEXT) WITH (
    connector = 'kafka',
    brokers   = 'kafka:9092',
    topic     = 'events',
    properties.sasl.username = 'svc',
    'properties.sasl.password' = '${file:kafka_password}',
    properties.client.id = '${file:client_id}'
);
CREATE SOURCE m (v TEXT) WITH (
    connector = 'mqtt', url = 'mqtt://broker:1883', topic = 'a/#', password = 'plain'
);
CREATE SINK r WITH (connector = 'redis', url = 'redis://user:pw@redis:6379/1') AS
SELECT v FROM k;
